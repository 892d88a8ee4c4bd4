export { type ProxyServerFactory, proxyContract } from "./proxy.js";
export {
  SECRET,
  type ServerHandle,
  signedDelivery,
  type WebhookServerFactory,
  webhookContract,
} from "./webhooks.js";

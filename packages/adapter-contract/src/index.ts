export {
  CONTRACT_TOKEN,
  collisions,
  type HostileProxyOptions,
  type HostileTarget,
  hostileContract,
} from "./hostile.js";
export { type ProxyServerFactory, proxyContract } from "./proxy.js";
export { chunkedFlood, type RawAnswer, rawRequest } from "./raw-http.js";
export {
  SECRET,
  type ServerHandle,
  signedDelivery,
  type WebhookServerFactory,
  webhookContract,
} from "./webhooks.js";

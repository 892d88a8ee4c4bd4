import { proxyContract, webhookContract } from "@extendkit/adapter-contract";
import { extendProxy, extendWebhooks } from "../src/index.js";
import { EXPRESSES, listen } from "./servers.js";

for (const [name, express] of EXPRESSES) {
  webhookContract(name, async (options) => {
    const app = express();
    app.all("/webhooks/extend", extendWebhooks(options) as never);
    const server = await listen(app);
    return { url: `${server.url}/webhooks/extend`, close: server.close };
  });

  proxyContract(name, async ({ allowCookie, ...options }) => {
    const app = express();
    app.use(
      extendProxy({
        ...options,
        ...(allowCookie ? { authorize: (req) => req.headers.cookie === allowCookie } : {}),
      }) as never,
    );
    return listen(app);
  });
}

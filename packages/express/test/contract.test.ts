import {
  hostileContract,
  proxyContract,
  SECRET,
  webhookContract,
} from "@extendkit/adapter-contract";
import { extendProxy, extendWebhooks } from "../src/index.js";
import { EXPRESSES, forceGc, listen } from "./servers.js";

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

  hostileContract(name, {
    async proxy(options) {
      const app = express();
      app.use(extendProxy(options) as never);
      const server = await listen(app);
      return { url: `${server.url}/api/extend`, close: server.close };
    },
    async webhook() {
      const app = express();
      app.post(
        "/webhooks/extend",
        extendWebhooks({ secret: SECRET, on: { "workflow_run.completed": () => {} } }) as never,
      );
      const server = await listen(app);
      return { url: `${server.url}/webhooks/extend`, close: server.close };
    },
    gc: async () => forceGc(),
  });
}

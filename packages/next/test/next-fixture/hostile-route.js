// The hostile contract's proxy routes: the proxy options come base64url-encoded in the
// route's [config] segment (the token from the environment), so one built app serves every
// configuration the suite asks for. Test-only: a real app never takes options from a URL.
import { createProxyHandlers } from "../../dist/index.js";

const proxies = new Map();

export function hostileProxyRoute() {
  const handle = async (request, context) => {
    const { config } = await context.params;
    let handlers = proxies.get(config);
    if (!handlers) {
      const options = JSON.parse(atob(config.replaceAll("-", "+").replaceAll("_", "/")));
      handlers = createProxyHandlers({
        ...options,
        token: process.env.EXTEND_CONTRACT_API_KEY ?? "",
      });
      proxies.set(config, handlers);
    }
    return handlers[request.method](request, context);
  };
  return { GET: handle, POST: handle, DELETE: handle };
}

import { hostileProxyRoute } from "../../../../../../../hostile-route.js";

export const { GET, POST, DELETE } = hostileProxyRoute();

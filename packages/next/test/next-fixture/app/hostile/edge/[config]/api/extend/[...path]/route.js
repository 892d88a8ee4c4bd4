import { hostileProxyRoute } from "../../../../../../../hostile-route.js";

export const runtime = "edge";
export const { GET, POST, DELETE } = hostileProxyRoute();

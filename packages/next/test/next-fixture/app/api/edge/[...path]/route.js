import { createProxyHandlers } from "../../../../../../dist/index.js";

export const runtime = "edge";
export const { GET, POST, DELETE } = createProxyHandlers({
  token: process.env.EXTEND_API_KEY ?? "",
  baseUrl: process.env.EXTEND_BASE_URL,
  authorize: (request) => request.headers.get("cookie") !== "session=blocked",
});

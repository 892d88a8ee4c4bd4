import { createProxyHandlers } from "@extendkit/next";

// The browser calls /api/extend/files/upload, /api/extend/workflow_runs and
// /api/extend/workflow_runs/{id}; the server's key is added here and never sent back.
export const { GET, POST, DELETE } = createProxyHandlers({
  token: process.env.EXTEND_API_KEY ?? "",
  ...(process.env.EXTEND_BASE_URL ? { baseUrl: process.env.EXTEND_BASE_URL } : {}),
  // A real app checks its session here, e.g. `authorize: async () => (await cookies()).has("session")`.
  onError: (error) => console.error("Extend proxy:", error),
});

// A Next.js app of route handlers only, built and started by test/next-app.test.ts: the
// package's built output under a basePath, on both runtimes.
export default { basePath: "/shop" };

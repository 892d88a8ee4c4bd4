/** The app's settings, read at request time (server/start.mjs sets them for the emulator). */
export function setting(
  name: "EXTEND_API_KEY" | "EXTEND_BASE_URL" | "EXTEND_WEBHOOK_SECRET" | "EXTEND_WORKFLOW_ID",
): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: start the app with \`pnpm start\`, which sets it.`);
  return value;
}

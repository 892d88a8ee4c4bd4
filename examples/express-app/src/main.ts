import { start } from "./start.js";

const running = await start(Number(process.env.PORT ?? 3000));
console.log(`Open ${running.appUrl} and upload a document (a PDF, or a .txt with an invoice).`);
console.log(`The Extend emulator runs at ${running.emulator.url}; its webhooks go to the app.`);
const stop = async () => {
  await running.close();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);

import { setting } from "../lib/config";
import { UploadForm } from "./upload-form";

// Read the settings per request: they exist when the app runs, not when it is built.
export const dynamic = "force-dynamic";

export default function Home() {
  return (
    <main>
      <h1>Run a document through Extend</h1>
      <p>
        Pick a PDF (or text) invoice. The browser uploads it and starts the workflow through this
        app's proxy route; the API key stays on the server.
      </p>
      <UploadForm workflowId={setting("EXTEND_WORKFLOW_ID")} />
    </main>
  );
}

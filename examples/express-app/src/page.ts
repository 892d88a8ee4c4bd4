/** The one page of the example: upload, run, then wait for the webhook's result. */
export function page(workflowId: string): string {
  return `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>extendkit + Express</title>
<style>body{font:16px system-ui;margin:2rem auto;max-width:40rem}pre{background:#f4f4f4;padding:1rem;overflow:auto}</style>
<h1>Run a document through Extend</h1>
<form id="form">
  <input type="file" name="file" required>
  <button>Upload and run</button>
</form>
<p id="status"></p>
<pre id="result"></pre>
<script type="module">
const status = document.getElementById("status");
const result = document.getElementById("result");
document.getElementById("form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = new FormData(event.target);
  status.textContent = "Uploading...";
  const upload = await (await fetch("/api/extend/files/upload", { method: "POST", body })).json();
  status.textContent = "Running the workflow...";
  const run = await (await fetch("/api/extend/workflow_runs", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ workflowId: ${JSON.stringify(workflowId)}, files: [{ fileId: upload.file.id }] }),
  })).json();
  const id = run.workflowRuns[0].id;
  status.textContent = "Waiting for the webhook of " + id + "...";
  for (;;) {
    const answer = await fetch("/results/" + id);
    if (answer.ok) {
      const data = await answer.json();
      status.textContent = "Webhook received: " + data.status;
      result.textContent = JSON.stringify(data.outputs, null, 2);
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
});
</script>
</html>`;
}

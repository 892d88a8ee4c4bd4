"use client";

import { useRouter } from "next/navigation";
import { type FormEvent, useState } from "react";

/** The JSON of a proxied call, or an Error with the API's message. */
async function call<T>(path: string, init: RequestInit): Promise<T> {
  const response = await fetch(`/api/extend${path}`, init);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = typeof body.error === "string" ? body.error : response.statusText;
    throw new Error(`${init.method} ${path}: ${response.status} ${message}`);
  }
  return body as T;
}

export function UploadForm({ workflowId }: { workflowId: string }) {
  const router = useRouter();
  const [state, setState] = useState<{ busy: boolean; message?: string; error?: string }>({
    busy: false,
  });

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setState({ busy: true, message: "Uploading…" });
    try {
      const upload = await call<{ file: { id: string } }>("/files/upload", {
        method: "POST",
        body: new FormData(event.currentTarget),
      });
      setState({ busy: true, message: "Starting the workflow…" });
      const created = await call<{ workflowRuns: { id: string }[] }>("/workflow_runs", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ workflowId, files: [{ fileId: upload.file.id }] }),
      });
      const run = created.workflowRuns[0];
      if (!run) throw new Error("The API created no run.");
      router.push(`/runs/${run.id}`);
    } catch (error) {
      setState({ busy: false, error: error instanceof Error ? error.message : String(error) });
    }
  }

  return (
    <form onSubmit={submit}>
      <input type="file" name="file" accept=".pdf,.txt,application/pdf,text/plain" required />{" "}
      <button type="submit" disabled={state.busy}>
        Upload and run
      </button>
      {state.message && !state.error ? <p role="status">{state.message}</p> : null}
      {state.error ? (
        <p role="alert" className="error">
          {state.error}
        </p>
      ) : null}
    </form>
  );
}

"use client";

import type { WorkflowRun } from "@extendkit/core";
import { useEffect, useState } from "react";
import type { ReceivedEvent } from "../../../lib/webhook-events";

const FINAL = new Set(["PROCESSED", "FAILED", "NEEDS_REVIEW", "REJECTED", "CANCELLED"]);
const POLL_MS = 500;

/** The fields of the run's last extraction, flattened to label → text. */
function extractedFields(run: WorkflowRun): [string, string][] {
  const extract = run.outputs?.findLast((output) => output.type === "EXTRACT");
  const value = (extract?.output as { value?: Record<string, unknown> } | undefined)?.value;
  if (!value) return [];
  return Object.entries(value).map(([name, field]) => [name, display(field)]);
}

function display(field: unknown): string {
  if (field === null || field === undefined) return "—";
  if (typeof field !== "object") return String(field);
  if ("amount" in field) {
    const { amount, iso_4217_currency_code: currency } = field as {
      amount: number | null;
      iso_4217_currency_code: string | null;
    };
    return amount === null ? "—" : `${amount.toFixed(2)} ${currency ?? ""}`.trim();
  }
  if (Array.isArray(field)) return `${field.length} item${field.length === 1 ? "" : "s"}`;
  return JSON.stringify(field);
}

/**
 * Polls the run through the proxy until it is final, and the app's record of verified
 * webhooks until one arrives for it; shows the status as it changes and the fields.
 */
export function RunView({ id }: { id: string }) {
  const [run, setRun] = useState<WorkflowRun>();
  const [history, setHistory] = useState<string[]>([]);
  const [events, setEvents] = useState<ReceivedEvent[]>([]);
  const [error, setError] = useState<string>();

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let final = false;
    let webhooked = false;
    async function tick() {
      try {
        if (!final) {
          const answer = await fetch(`/api/extend/workflow_runs/${id}`, { cache: "no-store" });
          const body = await answer.json();
          if (!answer.ok) throw new Error(body.error ?? `HTTP ${answer.status}`);
          const current = body.workflowRun as WorkflowRun;
          final = FINAL.has(current.status);
          if (stopped) return;
          setRun(current);
          setHistory((seen) => (seen.at(-1) === current.status ? seen : [...seen, current.status]));
        }
        if (!webhooked) {
          const answer = await fetch(`/api/runs/${id}/webhook`, { cache: "no-store" });
          const received = ((await answer.json()).events ?? []) as ReceivedEvent[];
          webhooked = received.some((event) => event.status && FINAL.has(event.status));
          if (stopped) return;
          setEvents(received);
        }
      } catch (caught) {
        if (!stopped) setError(caught instanceof Error ? caught.message : String(caught));
      }
      if (!stopped && !(final && webhooked)) timer = setTimeout(tick, POLL_MS);
    }
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [id]);

  const fields = run ? extractedFields(run) : [];
  const verified = events.at(-1);
  return (
    <section>
      <p>
        Status:{" "}
        <span
          className="badge"
          data-testid="run-status"
          data-final={run ? FINAL.has(run.status) : false}
        >
          {run?.status ?? "loading…"}
        </span>
      </p>
      <ol className="history" data-testid="status-history">
        {history.map((status) => (
          <li key={status}>{status}</li>
        ))}
      </ol>
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
      <p data-testid="webhook">
        {verified
          ? `Webhook ${verified.eventType} received and verified (${verified.eventId}, ${verified.status}).`
          : "Waiting for the webhook…"}
      </p>
      {fields.length ? (
        <table data-testid="fields">
          <thead>
            <tr>
              <th>Field</th>
              <th>Value</th>
            </tr>
          </thead>
          <tbody>
            {fields.map(([name, text]) => (
              <tr key={name} data-testid={`field-${name}`}>
                <td>{name}</td>
                <td>{text}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

import createFetchClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./generated/extend-api.js";
import { API_VERSION } from "./generated/operations.js";

/** Production root of the Extend API. Paths hang directly off it, with no version prefix. */
export const DEFAULT_BASE_URL = "https://api.extend.ai";

/** A version the `x-extend-api-version` header accepts. The generated types describe `2025-04-21`. */
export type ApiVersion = components["schemas"]["ApiVersion"];

/** Options of {@link createClient}. */
export interface ClientOptions {
  /**
   * Extend API key, sent on every request as `Authorization: Bearer <token>`.
   * Keep it on the server: browser code should call your backend (see `@extendkit/express`
   * and `@extendkit/next` for a safe proxy).
   */
  token: string;
  /**
   * Root URL of the API. Point it at `@extendkit/emulator` to work offline.
   * @default "https://api.extend.ai"
   */
  baseUrl?: string;
  /**
   * Value of the `x-extend-api-version` header. The generated types describe 2025-04-21;
   * another version may answer with shapes they do not describe.
   * @default "2025-04-21"
   */
  apiVersion?: ApiVersion;
  /**
   * Workspace to act in, sent as `x-extend-workspace-id`. Required with organisation-scoped
   * keys, optional with workspace keys.
   * @default undefined
   */
  workspaceId?: string;
  /**
   * The `fetch` to send requests with: inject one for tests, proxies or instrumentation.
   * @default globalThis.fetch
   */
  fetch?: (input: Request) => Promise<Response>;
  /**
   * Extra headers sent on every request. `Authorization`, `x-extend-api-version` and
   * `x-extend-workspace-id` come from the options above and cannot be overridden here.
   * @default {}
   */
  headers?: Record<string, string>;
}

/** An openapi-fetch client typed by every path of the Extend API. */
export type ExtendClient = Client<paths>;

/**
 * Creates a client for the Extend API, typed from the OpenAPI spec: paths, parameters,
 * bodies and responses are checked at compile time, and every call resolves to
 * openapi-fetch's `{ data, error, response }`.
 *
 * @example
 * ```ts
 * import { createClient } from "@extendkit/core";
 *
 * const extend = createClient({ token: process.env.EXTEND_API_KEY! });
 * const { data, error } = await extend.POST("/workflow_runs", {
 *   body: { workflowId: "workflow_abc", rawTexts: ["Invoice #42, total $120.00"] },
 * });
 * if (error) throw new Error(error.error);
 * console.log(data.workflowRuns[0]?.status); // "PENDING"
 * ```
 */
export function createClient(options: ClientOptions): ExtendClient {
  const token = checkToken(options?.token);
  const baseUrl = checkBaseUrl(options.baseUrl ?? DEFAULT_BASE_URL);
  const headers: Record<string, string> = { ...stripReserved(options.headers) };
  headers.authorization = `Bearer ${token}`;
  headers["x-extend-api-version"] = options.apiVersion ?? API_VERSION;
  if (options.workspaceId) headers["x-extend-workspace-id"] = options.workspaceId;

  return createFetchClient<paths>({
    baseUrl,
    headers,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}

function checkToken(token: unknown): string {
  if (typeof token !== "string" || token.trim() === "") {
    throw new TypeError(
      "createClient: `token` is required. Pass your Extend API key, for example " +
        "createClient({ token: process.env.EXTEND_API_KEY }).",
    );
  }
  if (/\s/.test(token)) {
    throw new TypeError(
      "createClient: `token` contains whitespace or a line break; check how the key was read " +
        "(a trailing newline from a file or an env var is the usual cause).",
    );
  }
  return token;
}

function checkBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new TypeError(
      `createClient: \`baseUrl\` must be an absolute http(s) URL such as "${DEFAULT_BASE_URL}"; got ${JSON.stringify(baseUrl)}.`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`createClient: \`baseUrl\` must use http or https; got "${url.protocol}".`);
  }
  // openapi-fetch appends "/path" to the base, so a trailing slash would double it.
  return baseUrl.replace(/\/+$/, "");
}

const RESERVED = new Set(["authorization", "x-extend-api-version", "x-extend-workspace-id"]);

function stripReserved(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (!RESERVED.has(name.toLowerCase())) out[name] = value;
  }
  return out;
}

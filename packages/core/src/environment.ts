/**
 * Reads a variable of the process environment where the runtime has one (Node, Bun,
 * Deno's Node layer, Next.js and other edge runtimes). In a browser page it reads nothing,
 * whatever `process` shim a bundler put there, so a key can never come from a bundle's
 * inlined environment. An empty value counts as unset.
 */
export function environmentVariable(name: string): string | undefined {
  const scope = globalThis as {
    process?: { env?: Record<string, string | undefined> };
    document?: unknown;
  };
  try {
    return (scope.document === undefined && scope.process?.env?.[name]) || undefined;
  } catch {
    // Deno without --allow-env throws on access: no environment, as in a browser.
  }
}

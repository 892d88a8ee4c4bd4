/** Renders rows as a plain-text table with a header rule. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const render = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [render(header), widths.map((w) => "─".repeat(w)).join("  "), ...rows.map(render)].join(
    "\n",
  );
}

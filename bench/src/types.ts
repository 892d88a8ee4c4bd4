/** One line of the benchmark table. */
export interface Row {
  benchmark: string;
  /** The measured figure, with its unit. */
  result: string;
  /** The comparison or target the issue names, and the ratio to it. */
  against: string;
  verdict: "meets" | "misses" | "info";
  method: string;
}

import type { Schemas } from "@extendkit/core";
import { words } from "./words.js";

type Classification = Schemas["Classification"];

/**
 * Scores each classification by how many of its type's and description's words the
 * document uses (the type's words count three times), and picks the best. Deterministic:
 * the same text and classifications always give the same answer.
 */
export function classify(
  text: string,
  classifications: Classification[],
): Schemas["ClassifierOutput"] {
  const present = new Map<string, number>();
  for (const w of words(text)) present.set(w, (present.get(w) ?? 0) + 1);
  const scored = classifications.map((c, index) => {
    const typeWords = new Set(words(c.type.replace(/[_-]/g, " ")));
    const descriptionWords = new Set(words(c.description).filter((w) => !typeWords.has(w)));
    const hits = [...typeWords, ...descriptionWords].filter((w) => present.has(w));
    const score =
      [...typeWords].reduce((s, w) => s + (present.has(w) ? 3 : 0), 0) +
      [...descriptionWords].reduce((s, w) => s + (present.has(w) ? 1 : 0), 0);
    const possible = typeWords.size * 3 + descriptionWords.size || 1;
    return { c, index, score, hits, ratio: score / possible };
  });
  scored.sort((a, b) => b.score - a.score || b.ratio - a.ratio || a.index - b.index);
  const best = scored[0];
  if (!best) throw new Error("classify needs at least one classification");
  const total = scored.reduce((s, x) => s + x.score, 0);
  const confidence = total === 0 ? 1 / scored.length : best.score / total;
  const evidence = best.hits
    .slice(0, 6)
    .map((w) => `"${w}"`)
    .join(", ");
  return {
    id: best.c.id,
    type: best.c.type,
    confidence: Math.round(confidence * 1000) / 1000,
    insights: [
      {
        type: "reasoning",
        content:
          best.score === 0
            ? `No classification's words appear in the document; chose "${best.c.type}", the first listed.`
            : `Chose "${best.c.type}": the document uses ${evidence} from its type and description (score ${best.score}${scored[1] ? ` against ${scored[1].score} for "${scored[1].c.type}"` : ""}).`,
      },
    ],
  };
}

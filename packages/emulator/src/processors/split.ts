import type { Schemas } from "@extendkit/core";
import { classify } from "./classify.js";
import { type DocumentLayout, pageText } from "./layout.js";

export interface PageGroup {
  classification: Schemas["ClassifierOutput"];
  startPage: number;
  endPage: number;
}

/** Classifies each page and groups consecutive pages of the same type. */
export function splitPages(
  layout: DocumentLayout,
  classifications: Schemas["Classification"][],
): PageGroup[] {
  const groups: PageGroup[] = [];
  for (const page of layout.pages) {
    const classification = classify(pageText(page), classifications);
    const last = groups[groups.length - 1];
    // A page with no evidence of its own continues the document before it.
    const continues =
      last &&
      (classification.id === last.classification.id ||
        classification.insights[0]?.content.startsWith("No classification"));
    if (last && continues) last.endPage = page.number;
    else groups.push({ classification, startPage: page.number, endPage: page.number });
  }
  return groups;
}

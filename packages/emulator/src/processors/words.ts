const STOP = new Set(
  "the and for with from this that are was were has have had not but you your our any all can may its into per via each of to in on at by an or as is be it a".split(
    " ",
  ),
);

/** Lower-case words of three or more letters, without common stop words. */
export function words(text: string): string[] {
  return (text.toLowerCase().match(/[a-z][a-z0-9]{2,}/g) ?? []).filter((w) => !STOP.has(w));
}

// Each explorer's inputs live in the page's address (#/lens?prompt=...), so a link restores them.

export function currentRoute(): { page: string; params: URLSearchParams } {
  const hash = location.hash.replace(/^#\/?/, "");
  const [page = "", query = ""] = hash.split("?");
  return { page, params: new URLSearchParams(query) };
}

/** Replaces the inputs in the address (no new history entry per keystroke). */
export function writeParams(page: string, values: Record<string, string>): void {
  const query = new URLSearchParams(values).toString();
  history.replaceState(null, "", `#/${page}${query ? `?${query}` : ""}`);
}

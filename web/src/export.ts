// Saving what an explorer shows: the figure as SVG or PNG, its data as JSON or CSV.

function download(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function svgText(svg: SVGSVGElement): string {
  const copy = svg.cloneNode(true) as SVGSVGElement;
  copy.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  // Resolve the page's colours into the copy, so the file looks as the figure does.
  const style = getComputedStyle(svg);
  copy.setAttribute(
    "style",
    `background:${getComputedStyle(document.body).backgroundColor};color:${style.color};font-family:${style.fontFamily}`,
  );
  return new XMLSerializer().serializeToString(copy);
}

export function saveSvg(svg: SVGSVGElement, name: string): void {
  download(`${name}.svg`, new Blob([svgText(svg)], { type: "image/svg+xml" }));
}

export async function savePng(svg: SVGSVGElement, name: string): Promise<void> {
  const { width, height } = svg.getBoundingClientRect();
  const image = new Image();
  image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svgText(svg))}`;
  await image.decode();
  const scale = 2;
  const canvas = document.createElement("canvas");
  canvas.width = Math.ceil(width * scale);
  canvas.height = Math.ceil(height * scale);
  const context = canvas.getContext("2d") as CanvasRenderingContext2D;
  context.scale(scale, scale);
  context.drawImage(image, 0, 0, width, height);
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, "image/png"));
  if (blob) download(`${name}.png`, blob);
}

export function saveJson(data: unknown, name: string): void {
  download(`${name}.json`, new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
}

/** Rows of cells as CSV (RFC 4180 quoting). */
export function toCsv(rows: readonly (readonly (string | number)[])[]): string {
  const cell = (v: string | number) => {
    const text = String(v);
    return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return rows.map((row) => row.map(cell).join(",")).join("\r\n");
}

export function saveCsv(rows: readonly (readonly (string | number)[])[], name: string): void {
  download(`${name}.csv`, new Blob([toCsv(rows)], { type: "text/csv" }));
}

// Colour scales: diverging (negative blue, zero near white, positive red) for signed effects, and
// sequential (near white to green) for probabilities and scores.
type Rgb = readonly [number, number, number];

const WHITE: Rgb = [247, 247, 247];
const RED: Rgb = [178, 24, 43];
const BLUE: Rgb = [33, 102, 172];
const GREEN: Rgb = [42, 124, 79];

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  const u = Math.min(1, Math.max(0, t));
  return [0, 1, 2].map((i) =>
    Math.round((a[i] as number) + ((b[i] as number) - (a[i] as number)) * u),
  ) as unknown as Rgb;
}

const css = ([r, g, b]: Rgb) => `rgb(${r}, ${g}, ${b})`;

/** A colour for `value` in [-extent, extent]: red above zero, blue below. */
export function diverging(value: number, extent: number): string {
  if (!(extent > 0) || !Number.isFinite(value)) return css(WHITE);
  return css(mix(WHITE, value >= 0 ? RED : BLUE, Math.abs(value) / extent));
}

/** A colour for `value` in [0, extent]. */
export function sequential(value: number, extent = 1): string {
  if (!(extent > 0) || !Number.isFinite(value)) return css(WHITE);
  return css(mix(WHITE, GREEN, value / extent));
}

/** Black or white text, whichever reads better on `fill` (an rgb() string). */
export function textOn(fill: string): string {
  const [r = 0, g = 0, b = 0] = (fill.match(/\d+/g) ?? []).map(Number);
  return 0.299 * r + 0.587 * g + 0.114 * b > 150 ? "#111" : "#fff";
}

// Plane geometry for the demo generator, in metres (EPSG:4527 eastings/northings): ring areas,
// point-in-ring, convex hulls, and the shapes patches and records are drawn with. Rings are closed
// (first position repeated last); outer rings counter-clockwise.
import type { Areal, Position, Ring } from '../geo/geometry.ts';
import type { Rng } from './prng.ts';

/** Signed shoelace area (positive = counter-clockwise), relative to the first vertex for precision. */
export function signedArea(ring: readonly Position[]): number {
  const n = ring.length;
  if (n < 3) return 0;
  const [x0, y0] = ring[0]!;
  let sum = 0;
  for (let i = 1; i + 1 < n; i++) {
    const a = ring[i]!;
    const b = ring[i + 1]!;
    sum += (a[0] - x0) * (b[1] - y0) - (b[0] - x0) * (a[1] - y0);
  }
  return sum / 2;
}

/** Plane area of a polygon or multipolygon: outer rings minus holes (orientation ignored). */
export function arealPlaneArea(g: Areal): number {
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  let total = 0;
  for (const rings of polys) rings.forEach((r, k) => (total += (k === 0 ? 1 : -1) * Math.abs(signedArea(r))));
  return total;
}

export function closeRing(points: Position[]): Ring {
  const first = points[0]!;
  const last = points[points.length - 1]!;
  return first[0] === last[0] && first[1] === last[1] ? points : [...points, [first[0], first[1]]];
}

/** The ring counter-clockwise (ccw = true) or clockwise. */
export function oriented(ring: Ring, ccw: boolean): Ring {
  return signedArea(ring) > 0 === ccw ? ring : [...ring].reverse();
}

/** Even–odd point-in-ring test (boundary points may go either way). */
export function pointInRing(p: Position, ring: readonly Position[]): boolean {
  const [x, y] = p;
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i]!;
    const [xj, yj] = ring[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Convex hull (Andrew's monotone chain) as a closed counter-clockwise ring. */
export function convexHull(points: readonly Position[]): Ring {
  const pts = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const cross = (o: Position, a: Position, b: Position) =>
    (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: Position[] = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, p) <= 0)
      lower.pop();
    lower.push(p);
  }
  const upper: Position[] = [];
  for (let i = pts.length - 1; i >= 0; i--) {
    const p = pts[i]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, p) <= 0)
      upper.pop();
    upper.push(p);
  }
  lower.pop();
  upper.pop();
  return closeRing([...lower, ...upper]);
}

/** True when p is inside (or on) the convex counter-clockwise ring. */
export function pointInConvex(p: Position, ring: readonly Position[]): boolean {
  for (let i = 0; i + 1 < ring.length; i++) {
    const a = ring[i]!;
    const b = ring[i + 1]!;
    if ((b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]) < 0) return false;
  }
  return true;
}

/** Distance from p to the nearest edge of the ring. */
export function distanceToRing(p: Position, ring: readonly Position[]): number {
  let best = Infinity;
  for (let i = 0; i + 1 < ring.length; i++) {
    const [ax, ay] = ring[i]!;
    const [bx, by] = ring[i + 1]!;
    const dx = bx - ax;
    const dy = by - ay;
    const len2 = dx * dx + dy * dy;
    const t = len2 > 0 ? Math.max(0, Math.min(1, ((p[0] - ax) * dx + (p[1] - ay) * dy) / len2)) : 0;
    best = Math.min(best, Math.hypot(p[0] - (ax + t * dx), p[1] - (ay + t * dy)));
  }
  return best;
}

function orient2(a: Position, b: Position, c: Position): number {
  const v = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
  return v > 0 ? 1 : v < 0 ? -1 : 0;
}

function onSegment(a: Position, b: Position, p: Position): boolean {
  return (
    Math.min(a[0], b[0]) <= p[0] &&
    p[0] <= Math.max(a[0], b[0]) &&
    Math.min(a[1], b[1]) <= p[1] &&
    p[1] <= Math.max(a[1], b[1])
  );
}

/** Whether segments ab and cd share any point. */
export function segmentsTouch(a: Position, b: Position, c: Position, d: Position): boolean {
  const o1 = orient2(a, b, c);
  const o2 = orient2(a, b, d);
  const o3 = orient2(c, d, a);
  const o4 = orient2(c, d, b);
  if (o1 !== o2 && o3 !== o4) return true;
  return (
    (o1 === 0 && onSegment(a, b, c)) ||
    (o2 === 0 && onSegment(a, b, d)) ||
    (o3 === 0 && onSegment(c, d, a)) ||
    (o4 === 0 && onSegment(c, d, b))
  );
}

/** A closed ring is simple when no two non-adjacent edges touch (O(n²); rings here are short). */
export function ringIsSimple(ring: readonly Position[]): boolean {
  const n = ring.length - 1; // edges
  if (n < 3) return false;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      if (j === i + 1 || (i === 0 && j === n - 1)) continue;
      if (segmentsTouch(ring[i]!, ring[i + 1]!, ring[j]!, ring[j + 1]!)) return false;
    }
  return true;
}

export function mapRing(ring: readonly Position[], f: (p: Position) => Position): Ring {
  return ring.map(f);
}

/** The ring scaled by s about (cx, cy). */
export function scaleRing(ring: readonly Position[], cx: number, cy: number, s: number): Ring {
  return ring.map(([x, y]) => [cx + (x - cx) * s, cy + (y - cy) * s]);
}

export function translateRing(ring: readonly Position[], dx: number, dy: number): Ring {
  return ring.map(([x, y]) => [x + dx, y + dy]);
}

/** Vertex average of a closed ring (a point inside for the star-shaped rings drawn here). */
export function ringCentre(ring: readonly Position[]): Position {
  let x = 0;
  let y = 0;
  const n = ring.length - 1;
  for (let i = 0; i < n; i++) {
    x += ring[i]![0];
    y += ring[i]![1];
  }
  return [x / n, y / n];
}

export interface ShapeOptions {
  /** Length / width. */
  aspect?: number;
  /** Rotation in radians. */
  rotation?: number;
  /** Number of vertices (star shapes). */
  vertices?: number;
  /** Relative radial irregularity, 0 … 0.5. */
  roughness?: number;
}

/** Rounds a coordinate to the millimetre, as survey data is written. */
export function mm(v: number): number {
  return Math.round(v * 1000) / 1000;
}

function place(points: Position[], cx: number, cy: number, rotation: number, scale: number): Ring {
  const c = Math.cos(rotation);
  const s = Math.sin(rotation);
  return closeRing(
    points.map(([x, y]) => [mm(cx + scale * (x * c - y * s)), mm(cy + scale * (x * s + y * c))]),
  );
}

/**
 * An irregular blob star-shaped about (cx, cy) — a field, a yard, a spoil heap — with about the
 * given area (m²). Star-shaped about its centre, so it is always a simple polygon.
 */
export function blobRing(rng: Rng, cx: number, cy: number, area: number, o: ShapeOptions = {}): Ring {
  const n = o.vertices ?? rng.intIn(7, 13);
  const rough = o.roughness ?? 0.18;
  const aspect = o.aspect ?? rng.range(1, 2.2);
  const rotation = o.rotation ?? rng.range(0, Math.PI);
  const pts: Position[] = [];
  const step = (2 * Math.PI) / n;
  for (let k = 0; k < n; k++) {
    const t = k * step + rng.range(-0.3, 0.3) * step;
    const r = 1 + rng.range(-rough, rough);
    pts.push([r * Math.cos(t) * Math.sqrt(aspect), (r * Math.sin(t)) / Math.sqrt(aspect)]);
  }
  const unit = Math.abs(signedArea(closeRing(pts)));
  return place(pts, cx, cy, rotation, Math.sqrt(area / unit));
}

/**
 * A built-up footprint: a rectangle, or an L with one corner cut away, rotated — the outline of a
 * yard or a factory. Centred near (cx, cy), which lies inside it.
 */
export function blockRing(rng: Rng, cx: number, cy: number, area: number, o: ShapeOptions = {}): Ring {
  const aspect = o.aspect ?? rng.range(1, 2.5);
  const rotation = o.rotation ?? rng.range(0, Math.PI);
  const w = Math.sqrt(aspect);
  const h = 1 / Math.sqrt(aspect);
  let pts: Position[];
  if (rng.chance(0.5)) {
    pts = [
      [-w / 2, -h / 2],
      [w / 2, -h / 2],
      [w / 2, h / 2],
      [-w / 2, h / 2],
    ];
  } else {
    // L-shape: the north-east corner cut out; the centre (0, 0) stays inside.
    const cw = rng.range(0.2, 0.45) * w;
    const ch = rng.range(0.2, 0.45) * h;
    pts = [
      [-w / 2, -h / 2],
      [w / 2, -h / 2],
      [w / 2, h / 2 - ch],
      [w / 2 - cw, h / 2 - ch],
      [w / 2 - cw, h / 2],
      [-w / 2, h / 2],
    ];
  }
  const unit = Math.abs(signedArea(closeRing(pts)));
  return place(pts, cx, cy, rotation, Math.sqrt(area / unit));
}

/**
 * A long thin strip (a rural road or a ditch): `length` × `width` metres from (x, y) at `angle`,
 * with one gentle bend half-way.
 */
export function stripRing(
  x: number,
  y: number,
  length: number,
  width: number,
  angle: number,
  bend: number,
): Ring {
  const half = length / 2;
  const a1 = angle;
  const a2 = angle + bend;
  const mid: Position = [x + half * Math.cos(a1), y + half * Math.sin(a1)];
  const end: Position = [mid[0] + half * Math.cos(a2), mid[1] + half * Math.sin(a2)];
  const w = width / 2;
  const n1: Position = [-Math.sin(a1) * w, Math.cos(a1) * w];
  const n2: Position = [-Math.sin(a2) * w, Math.cos(a2) * w];
  const nm: Position = [(n1[0] + n2[0]) / 2, (n1[1] + n2[1]) / 2];
  // Mitre: |nm| = w·cos(bend/2), and the corner offset must be w / cos(bend/2) to keep the width.
  const k = (w * w) / Math.max(1e-9, nm[0] * nm[0] + nm[1] * nm[1]);
  const nmk: Position = [nm[0] * k, nm[1] * k];
  const pts: Position[] = [
    [x + n1[0], y + n1[1]],
    [x - n1[0], y - n1[1]],
    [mid[0] - nmk[0], mid[1] - nmk[1]],
    [end[0] - n2[0], end[1] - n2[1]],
    [end[0] + n2[0], end[1] + n2[1]],
    [mid[0] + nmk[0], mid[1] + nmk[1]],
  ];
  return oriented(closeRing(pts.map(([px, py]) => [mm(px), mm(py)])), true);
}

/** A convex record outline (an approval, a filing): the hull of jittered points on an ellipse. */
export function convexRing(rng: Rng, cx: number, cy: number, area: number, o: ShapeOptions = {}): Ring {
  const n = o.vertices ?? rng.intIn(6, 11);
  const aspect = o.aspect ?? rng.range(1, 2);
  const rotation = o.rotation ?? rng.range(0, Math.PI);
  const pts: Position[] = [];
  for (let k = 0; k < n; k++) {
    const t = ((k + rng.range(-0.35, 0.35)) * 2 * Math.PI) / n;
    pts.push([Math.cos(t) * Math.sqrt(aspect), Math.sin(t) / Math.sqrt(aspect)]);
  }
  const hull = convexHull(pts);
  const unit = Math.abs(signedArea(hull));
  const ring = place(hull.slice(0, -1), cx, cy, rotation, Math.sqrt(area / unit));
  return convexHull(ring.slice(0, -1));
}

/** A rectangle of w × h metres centred at (cx, cy), rotated: licence blocks are drawn this way. */
export function rectRing(cx: number, cy: number, w: number, h: number, rotation: number): Ring {
  return place(
    [
      [-w / 2, -h / 2],
      [w / 2, -h / 2],
      [w / 2, h / 2],
      [-w / 2, h / 2],
    ],
    cx,
    cy,
    rotation,
    1,
  );
}

export function ringBox(ring: readonly Position[]): [number, number, number, number] {
  let minx = Infinity;
  let miny = Infinity;
  let maxx = -Infinity;
  let maxy = -Infinity;
  for (const [x, y] of ring) {
    if (x < minx) minx = x;
    if (y < miny) miny = y;
    if (x > maxx) maxx = x;
    if (y > maxy) maxy = y;
  }
  return [minx, miny, maxx, maxy];
}

export function arealBox(g: Areal): [number, number, number, number] {
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  const b: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const rings of polys)
    for (const r of rings) {
      const [a, c, d, e] = ringBox(r);
      b[0] = Math.min(b[0], a);
      b[1] = Math.min(b[1], c);
      b[2] = Math.max(b[2], d);
      b[3] = Math.max(b[3], e);
    }
  return b;
}

// The jittered quad mesh the demo district is cut from. Every grid vertex and every point along a
// grid edge is stored once and shared by the cells on both sides, so neighbouring polygons share
// their boundary bit for bit: land-use parcels, towns and planning zones built from cells tile the
// district with no gap and no overlap. A polygon made of several cells is traced along its outer
// cell edges, so its boundary is made of exactly the same vertices as the parcels inside it.
import type { Position, Ring } from '../geo/geometry.ts';
import type { Rng } from './prng.ts';
import { mm, ringIsSimple } from './shapes.ts';

export interface Mesh {
  /** Cells across (x) and up (y). */
  nx: number;
  ny: number;
  /** South-west corner of the unjittered grid and the cell size, metres. */
  x0: number;
  y0: number;
  cell: number;
  /** Grid vertices, index j * (nx + 1) + i. */
  vx: Float64Array;
  vy: Float64Array;
  /** Points inside horizontal edge (i, j) → (i + 1, j), index j * nx + i; null when straight. */
  hPts: (Position[] | null)[];
  /** Points inside vertical edge (i, j) → (i, j + 1), index j * (nx + 1) + i; null when straight. */
  vPts: (Position[] | null)[];
}

export const cellIndex = (m: Mesh, i: number, j: number): number => j * m.nx + i;

export function vertex(m: Mesh, i: number, j: number): Position {
  const k = j * (m.nx + 1) + i;
  return [m.vx[k]!, m.vy[k]!];
}

/** Unjittered centre of cell k (for lookups; the cell's polygon is jittered around it). */
export function cellCentre(m: Mesh, k: number): Position {
  const i = k % m.nx;
  const j = (k - i) / m.nx;
  return [m.x0 + (i + 0.5) * m.cell, m.y0 + (j + 0.5) * m.cell];
}

/** The cell whose unjittered square holds (x, y), or -1 outside the grid. */
export function cellAt(m: Mesh, x: number, y: number): number {
  const i = Math.floor((x - m.x0) / m.cell);
  const j = Math.floor((y - m.y0) / m.cell);
  return i < 0 || j < 0 || i >= m.nx || j >= m.ny ? -1 : j * m.nx + i;
}

function edgePoints(rng: Rng, a: Position, b: Position): Position[] | null {
  const k = rng.weighted<number>([
    [0, 0.35],
    [1, 0.4],
    [2, 0.25],
  ]);
  if (k === 0) return null;
  const ts = k === 1 ? [rng.range(0.3, 0.7)] : [rng.range(0.25, 0.45), rng.range(0.55, 0.75)];
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len = Math.hypot(dx, dy);
  return ts.map((t) => {
    const off = rng.range(-0.07, 0.07) * len;
    return [mm(a[0] + t * dx - (dy / len) * off), mm(a[1] + t * dy + (dx / len) * off)];
  });
}

/**
 * A grid of nx × ny cells of `cell` metres from (x0, y0), corners jittered by up to 18 % of a cell
 * and most edges bent through one or two points, so parcels have 4–12 vertices and no two look alike.
 * Edges of any cell that would not be a simple polygon are straightened (a quad with straight edges
 * and corners jittered this little is always simple).
 */
export function buildMesh(rng: Rng, x0: number, y0: number, nx: number, ny: number, cell: number): Mesh {
  const vx = new Float64Array((nx + 1) * (ny + 1));
  const vy = new Float64Array((nx + 1) * (ny + 1));
  const jit = 0.18 * cell;
  for (let j = 0; j <= ny; j++)
    for (let i = 0; i <= nx; i++) {
      const k = j * (nx + 1) + i;
      vx[k] = mm(x0 + i * cell + rng.range(-jit, jit));
      vy[k] = mm(y0 + j * cell + rng.range(-jit, jit));
    }
  const m: Mesh = { nx, ny, x0, y0, cell, vx, vy, hPts: [], vPts: [] };
  m.hPts = new Array<Position[] | null>(nx * (ny + 1));
  for (let j = 0; j <= ny; j++)
    for (let i = 0; i < nx; i++) m.hPts[j * nx + i] = edgePoints(rng, vertex(m, i, j), vertex(m, i + 1, j));
  m.vPts = new Array<Position[] | null>((nx + 1) * ny);
  for (let j = 0; j < ny; j++)
    for (let i = 0; i <= nx; i++)
      m.vPts[j * (nx + 1) + i] = edgePoints(rng, vertex(m, i, j), vertex(m, i, j + 1));
  for (let changed = true; changed;) {
    changed = false;
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        if (ringIsSimple(cellRing(m, i, j))) continue;
        m.hPts[j * nx + i] = null;
        m.hPts[(j + 1) * nx + i] = null;
        m.vPts[j * (nx + 1) + i] = null;
        m.vPts[j * (nx + 1) + i + 1] = null;
        changed = true;
      }
  }
  return m;
}

/** Directions of directed boundary edges: east, north, west, south. */
type Dir = 0 | 1 | 2 | 3;

interface DirectedEdge {
  from: number;
  to: number;
  dir: Dir;
  /** Interior points in travel order. */
  pts: readonly Position[];
}

function sideEdge(m: Mesh, i: number, j: number, side: Dir): DirectedEdge {
  const w = m.nx + 1;
  switch (side) {
    case 0: // bottom, travelled east
      return { from: j * w + i, to: j * w + i + 1, dir: 0, pts: m.hPts[j * m.nx + i] ?? [] };
    case 1: // right, travelled north
      return { from: j * w + i + 1, to: (j + 1) * w + i + 1, dir: 1, pts: m.vPts[j * w + i + 1] ?? [] };
    case 2: // top, travelled west
      return {
        from: (j + 1) * w + i + 1,
        to: (j + 1) * w + i,
        dir: 2,
        pts: [...(m.hPts[(j + 1) * m.nx + i] ?? [])].reverse(),
      };
    case 3: // left, travelled south
      return { from: (j + 1) * w + i, to: j * w + i, dir: 3, pts: [...(m.vPts[j * w + i] ?? [])].reverse() };
  }
}

/** One cell as a closed counter-clockwise ring. */
export function cellRing(m: Mesh, i: number, j: number): Ring {
  const ring: Position[] = [];
  for (const side of [0, 1, 2, 3] as const) {
    const e = sideEdge(m, i, j, side);
    ring.push([m.vx[e.from]!, m.vy[e.from]!], ...e.pts);
  }
  ring.push(ring[0]!);
  return ring;
}

const NEIGHBOUR: readonly [number, number][] = [
  [0, -1],
  [1, 0],
  [0, 1],
  [-1, 0],
];

/**
 * The outline of a 4-connected set of cells: the outer ring (counter-clockwise) first, then the
 * holes (clockwise). `member(k)` says whether cell k belongs to the set. Where two cells of the set
 * touch only at a corner the boundary turns away from the corner, so rings never cross or touch
 * themselves: a hole may meet the outer ring at that one point, which is valid.
 */
export function traceComponent(m: Mesh, cells: readonly number[], member: (k: number) => boolean): Ring[] {
  const edges: DirectedEdge[] = [];
  const out = new Map<number, number[]>();
  for (const k of cells) {
    const i = k % m.nx;
    const j = (k - i) / m.nx;
    for (const side of [0, 1, 2, 3] as const) {
      const [di, dj] = NEIGHBOUR[side]!;
      const ni = i + di;
      const nj = j + dj;
      const inside = ni >= 0 && nj >= 0 && ni < m.nx && nj < m.ny && member(nj * m.nx + ni);
      if (inside) continue;
      const e = sideEdge(m, i, j, side);
      const list = out.get(e.from);
      if (list) list.push(edges.length);
      else out.set(e.from, [edges.length]);
      edges.push(e);
    }
  }
  const used = new Uint8Array(edges.length);
  const rings: Ring[] = [];
  for (let start = 0; start < edges.length; start++) {
    if (used[start]) continue;
    const ring: Position[] = [];
    let e = start;
    for (;;) {
      used[e] = 1;
      const edge = edges[e]!;
      ring.push([m.vx[edge.from]!, m.vy[edge.from]!], ...edge.pts);
      const next = out.get(edge.to)!;
      // Two ways on at a corner-touch: turn right, so the ring does not pass the corner twice.
      // Each way in then has its own way out, so the rings are closed cycles.
      const right = ((edge.dir + 3) % 4) as Dir;
      const n = next.length === 1 ? next[0]! : next.find((x) => edges[x]!.dir === right)!;
      if (n === start) break;
      if (used[n]) throw new Error(`mesh trace: edge ${n} reached twice`);
      e = n;
    }
    ring.push(ring[0]!);
    rings.push(ring);
  }
  // Exactly one counter-clockwise ring: the outer boundary of the component.
  const outerIndex = rings.findIndex((r) => ringSign(r) > 0);
  const outer = rings[outerIndex]!;
  return [outer, ...rings.filter((_, k) => k !== outerIndex)];
}

function ringSign(r: Ring): number {
  let s = 0;
  const [x0, y0] = r[0]!;
  for (let i = 1; i + 1 < r.length; i++)
    s += (r[i]![0] - x0) * (r[i + 1]![1] - y0) - (r[i + 1]![0] - x0) * (r[i]![1] - y0);
  return s;
}

/**
 * 4-connected components of the cells with a label ≥ 0, each with the label it shares: cells are
 * grouped when they are edge neighbours with equal labels.
 */
export function components(m: Mesh, label: Int32Array): { label: number; cells: number[] }[] {
  const seen = new Uint8Array(label.length);
  const result: { label: number; cells: number[] }[] = [];
  const stack: number[] = [];
  for (let k = 0; k < label.length; k++) {
    if (seen[k] || label[k]! < 0) continue;
    const l = label[k]!;
    const cells: number[] = [];
    seen[k] = 1;
    stack.push(k);
    while (stack.length > 0) {
      const c = stack.pop()!;
      cells.push(c);
      const i = c % m.nx;
      const j = (c - i) / m.nx;
      for (const [di, dj] of NEIGHBOUR) {
        const ni = i + di;
        const nj = j + dj;
        if (ni < 0 || nj < 0 || ni >= m.nx || nj >= m.ny) continue;
        const n = nj * m.nx + ni;
        if (!seen[n] && label[n] === l) {
          seen[n] = 1;
          stack.push(n);
        }
      }
    }
    cells.sort((a, b) => a - b);
    result.push({ label: l, cells });
  }
  return result;
}

/** Edge neighbours of cell k inside the grid. */
export function neighbours(m: Mesh, k: number): number[] {
  const i = k % m.nx;
  const j = (k - i) / m.nx;
  const res: number[] = [];
  for (const [di, dj] of NEIGHBOUR) {
    const ni = i + di;
    const nj = j + dj;
    if (ni >= 0 && nj >= 0 && ni < m.nx && nj < m.ny) res.push(nj * m.nx + ni);
  }
  return res;
}

/** The boundary between edge-neighbour cells a and b, as a polyline of mesh points. */
export function sharedEdge(m: Mesh, a: number, b: number): Position[] {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  const i = lo % m.nx;
  const j = (lo - i) / m.nx;
  // hi is either the right neighbour (shared vertical edge) or the one above (shared horizontal edge).
  const e = hi === lo + 1 ? sideEdge(m, i, j, 1) : sideEdge(m, i, j + 1, 0);
  return [[m.vx[e.from]!, m.vy[e.from]!], ...e.pts, [m.vx[e.to]!, m.vy[e.to]!]];
}

// Measuring generated patches against the generated district, the way the Ministry and the
// analysis do: official (ellipsoidal) areas, and true polygon intersections (GEOS) with the
// land-use parcels found through a flatbush index — for the delivered 耕地面积 and for the ground
// truth (basic farmland taken, share in each unit).
import Flatbush from 'flatbush';
import type { Areal, Position } from '../geo/geometry.ts';
import type { Geos } from '../geo/geos.ts';
import { ellipsoidalAreaProjected } from '../geo/area.ts';
import { LAND_CLASSES, type District } from './district.ts';
import { arealBox, ringBox } from './shapes.ts';

export interface Measure {
  /** Ellipsoidal area (m²) of the (repaired) geometry. */
  areaM2: number;
  cultivatedM2: number;
  basicFarmlandM2: number;
  /** Unit index → m² of the patch inside it. */
  units: Map<number, number>;
}

export class Measurer {
  private readonly index: Flatbush;

  constructor(
    private readonly d: District,
    readonly geos: Geos,
    private readonly inverse: (p: Position) => Position,
  ) {
    this.index = new Flatbush(Math.max(1, d.parcels.length));
    for (const p of d.parcels) {
      const [a, b, c, e] = ringBox(p.ring);
      this.index.add(a, b, c, e);
    }
    if (d.parcels.length === 0) this.index.add(0, 0, 0, 0);
    this.index.finish();
  }

  /** Official area (m²) of a plane geometry in EPSG:4527. */
  area(g: Areal): number {
    return ellipsoidalAreaProjected(g, this.inverse);
  }

  /** Official area of a ∩ b (0 when they do not overlap). */
  overlap(a: Areal, b: Areal): number {
    const x = this.geos.intersection(a, b);
    return x ? this.area(x) : 0;
  }

  /** The valid form of g (GEOS MakeValid) — the geometry the figures are computed on. */
  valid(g: Areal): Areal {
    const v = this.geos.makeValid(g);
    if (!v) throw new Error('demo patch has no area');
    return v;
  }

  measure(g: Areal): Measure {
    const [minx, miny, maxx, maxy] = arealBox(g);
    const m: Measure = { areaM2: this.area(g), cultivatedM2: 0, basicFarmlandM2: 0, units: new Map() };
    for (const i of this.index.search(minx, miny, maxx, maxy)) {
      const p = this.d.parcels[i]!;
      const a = this.overlap(g, { type: 'Polygon', coordinates: [p.ring] });
      if (a <= 0) continue;
      if (LAND_CLASSES[p.cls]!.cultivated) m.cultivatedM2 += a;
      if (p.basic) m.basicFarmlandM2 += a;
      m.units.set(p.unit, (m.units.get(p.unit) ?? 0) + a);
    }
    return m;
  }
}

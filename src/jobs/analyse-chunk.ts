// The computation of a job, the same in the main thread and in worker threads: indexes opened over
// a run's packed layers with this thread's GEOS, then each patch through domain/analysis.ts plus
// the history link. Pure computation — the database is the caller's.
import { analysePatch, type AnalysisLayers } from '../domain/analysis.ts';
import { adoptRulePack, loadRulePack, type RulePack } from '../domain/rulepack.ts';
import type { Geos } from '../geo/geos.ts';
import type { Areal } from '../geo/geometry.ts';
import { decodeGeometry } from '../geo/wkb.ts';
import { ReferenceIndex } from '../geo/reference-index.ts';
import { overlayShape, withPatch } from '../geo/overlay.ts';
import type { LayerType } from '../store/queries/layers.ts';
import { LICENCE_TYPES, type RunContext } from './analysis-context.ts';

export interface PatchTask {
  id: number;
  jcbh: string;
  /** coalesce(geom_repaired, geom). */
  wkb: Uint8Array;
  hsx: string | null;
}

export interface HistoryLink {
  patchId: number;
  batch: string;
  jcbh: string;
  overlapM2: number;
}

export interface PatchOutcome {
  id: number;
  jcbh: string;
  fields: Record<string, string | number | null>;
  detail: Record<string, unknown>;
  prejudgement: string;
  /** Some overlay pair failed (listed in the detail). */
  hasErrors: boolean;
  missingLayers: string[];
}

export class ChunkAnalyser {
  private readonly indexes: AnalysisLayers = {};
  private readonly history: ReferenceIndex | null;
  private readonly pack: RulePack;
  private readonly kind: 'land' | 'mineral';

  constructor(
    private readonly geos: Geos,
    ctx: RunContext,
  ) {
    this.pack = ctx.pack ? adoptRulePack(ctx.pack) : loadRulePack(ctx.packId);
    this.kind = ctx.batch.kind;
    for (const [type, packed] of Object.entries(ctx.layers))
      if (packed) this.indexes[type as LayerType] = new ReferenceIndex(geos, packed);
    this.history = ctx.history ? new ReferenceIndex(geos, ctx.history, { prepare: 'patch' }) : null;
  }

  analyse(tasks: readonly PatchTask[]): PatchOutcome[] {
    const sliver = this.pack.prejudgement.sliverToleranceM2;
    return tasks.map((t) => {
      const geometry = decodeGeometry(t.wkb);
      const a = analysePatch({ jcbh: t.jcbh, geometry, hsx: t.hsx }, this.indexes, this.pack, {
        geos: this.geos,
      });
      const history = this.history && geometry.type !== 'Point' ? this.historyOf(geometry, sliver) : [];
      return {
        id: t.id,
        jcbh: t.jcbh,
        fields: a.fields,
        // The uncovered geometry is recomputed when needed (parts), not stored.
        detail: { ...a.detail, uncovered: { ...a.detail.uncovered, geometry: undefined }, history },
        prejudgement: String(a.fields.prejudgement),
        hasErrors: a.detail.errors.length > 0,
        // Licences matter to mineral batches only.
        missingLayers: a.detail.missingLayers.filter((m) => this.kind === 'mineral' || !LICENCE_TYPES.has(m)),
      };
    });
  }

  private historyOf(geometry: Areal, sliverM2: number): HistoryLink[] {
    const index = this.history!;
    return withPatch(this.geos, geometry, (shape) =>
      overlayShape(shape, index, { sliverM2 }).pieces.map((p) => {
        const a = index.attributes[p.index]!;
        return { patchId: Number(p.id), batch: String(a.batch), jcbh: String(a.jcbh), overlapM2: p.areaM2 };
      }),
    );
  }

  dispose(): void {
    for (const idx of Object.values(this.indexes)) idx?.dispose();
    this.history?.dispose();
  }
}

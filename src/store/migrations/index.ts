// The list of migrations, in order. SQL lives in TypeScript modules so that it ships inside the
// compiled package without a copy step. Never edit an applied migration: add the next one.
import { m001Init } from './001_init.ts';
import { m002Auth } from './002_auth.ts';
import { m003Events } from './003_events.ts';
import { m004PointPatches } from './004_point_patches.ts';
import { m005LayerStaging } from './005_layer_staging.ts';
import { m006PatchUnit } from './006_patch_unit.ts';
import { m007Analysis } from './007_analysis.ts';
import { m008Evidence } from './008_evidence.ts';
import { m009Workflow } from './009_workflow.ts';
import { m010AnalysisJobs } from './010_analysis_jobs.ts';
import { m011FeatureBboxSpgist } from './011_feature_bbox_spgist.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: Migration[] = [
  m001Init,
  m002Auth,
  m003Events,
  m004PointPatches,
  m005LayerStaging,
  m006PatchUnit,
  m007Analysis,
  m008Evidence,
  m009Workflow,
  m010AnalysisJobs,
  m011FeatureBboxSpgist,
];

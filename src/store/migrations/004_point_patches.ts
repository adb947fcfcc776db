import type { Migration } from './index.ts';

// A patch delivered only as a centre point (a table with 中心点X/中心点Y and no boundary) is stored
// with the point as its geometry and the delivered 监测面积 as its area; this column says which
// patches have no polygon to measure or overlay.
export const m004PointPatches: Migration = {
  version: 4,
  name: 'point patches',
  sql: `
ALTER TABLE patches ADD COLUMN geometry_kind text NOT NULL DEFAULT 'polygon'
  CHECK (geometry_kind IN ('polygon', 'point'));
`,
};

// Reference layers and responsible units, for administration views.
import type { FastifyPluginAsync } from 'fastify';
import type { Db } from '../../store/db.ts';
import { listLayers, LAYER_TYPE_LABELS } from '../../store/queries/layers.ts';
import { listUnits } from '../../store/queries/units.ts';

export const referenceRoutes: FastifyPluginAsync<{ db: Db }> = async (app, { db }) => {
  app.get('/api/layers', async () => ({
    layers: (await listLayers(db)).map((l) => ({ ...l, typeLabel: LAYER_TYPE_LABELS[l.type] })),
  }));
  app.get('/api/units', async () => ({
    units: (await listUnits(db)).map(({ boundary: _b, ...u }) => u),
  }));
};

// The API described as OpenAPI 3, generated from the routes' own JSON schemas (so it cannot drift),
// served at /api/openapi.json for integrators and upper-level systems.
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: '卫片执法监督检查系统 API',
        description:
          '土地矿产卫片执法监督检查：批次、图斑、参考图层、用户与审计。登录后写操作须带 x-csrf-token 请求头；错误统一为 {"error":{"code","message"}}。',
        version: '0.1.0',
      },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: 'weipian_session' },
          operator: { type: 'apiKey', in: 'header', name: 'x-weipian-operator' },
        },
      },
    },
  });
}

export function openApiRoute(app: FastifyInstance): void {
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

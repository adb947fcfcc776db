// POST /api/operator/:command — the CLI acting through the running server as the local operator.
import type { FastifyPluginAsync } from 'fastify';
import type { Db } from '../../store/db.ts';
import { WeipianError } from '../../domain/errors.ts';
import { isOperatorCommand, runOperatorCommand, type OperatorContext } from '../../services/operator.ts';
import { OPERATOR_HEADER, tokenMatches } from '../operator-token.ts';

export interface OperatorRouteOptions {
  db: Db;
  token: string;
  context: Omit<OperatorContext, 'actor'>;
}

export const operatorRoutes: FastifyPluginAsync<OperatorRouteOptions> = async (
  app,
  { db, token, context },
) => {
  app.post<{ Params: { command: string }; Body: { actor: string; args: Record<string, unknown> } }>(
    '/api/operator/:command',
    {
      bodyLimit: 64 * 1024,
      // The token is checked before the body is even parsed: no credential, no answer but 401.
      onRequest: async (req) => {
        if (!tokenMatches(token, req.headers[OPERATOR_HEADER]))
          throw new WeipianError('operator_unauthorized', '本地操作员凭据无效', undefined, 401);
      },
      schema: {
        body: {
          type: 'object',
          properties: { actor: { type: 'string', minLength: 1, maxLength: 200 }, args: { type: 'object' } },
          required: ['actor', 'args'],
          additionalProperties: false,
        },
      },
    },
    async (req) => {
      const { command } = req.params;
      if (!isOperatorCommand(command))
        throw new WeipianError('operator_command_unknown', `未知的操作命令：${command}`, undefined, 404);
      const result = await runOperatorCommand(db, command, req.body.args as never, {
        ...context,
        actor: req.body.actor,
      });
      return { result };
    },
  );
};

// The front page: the web workspace when it is built (web/dist, see routes/web.ts); otherwise a plain
// page — what is running, where the data lives, and the API's entry points — in Chinese, with no
// script, so it works in any browser.
import type { FastifyPluginAsync } from 'fastify';
import type { Db } from '../../store/db.ts';
import { listBatches } from '../../store/queries/batches.ts';
import { webIndexHtml } from './web.ts';

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

export const homeRoutes: FastifyPluginAsync<{ db: Db }> = async (app, { db }) => {
  app.get('/', async (_req, reply) => {
    const built = webIndexHtml();
    const batches = await listBatches(db);
    // Public page: batch names only — figures are for logged-in users within their permissions.
    const rows = batches.map((b) => `<tr><td>${esc(b.slug)}</td><td>${esc(b.name)}</td></tr>`).join('');
    if (built !== null) {
      // The app; without JavaScript the same public facts as the plain page.
      const plain = `<noscript><h1>卫片执法监督检查系统</h1><p>请启用 JavaScript 使用网页工作台。</p>${
        batches.length ? `<table><tr><th>标识</th><th>批次</th></tr>${rows}</table>` : ''
      }<p><a href="/api/openapi.json">接口说明（OpenAPI）</a></p></noscript>`;
      reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8');
      return built.includes('</body>') ? built.replace('</body>', `${plain}</body>`) : built + plain;
    }
    reply.type('text/html; charset=utf-8');
    return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>卫片执法监督检查系统</title>
<style>body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em auto;max-width:52em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .8em}th{background:#f3f3f3}code{background:#f5f5f5}</style></head>
<body><h1>卫片执法监督检查系统</h1>
<p>服务运行中（数据库：${db.engine === 'pglite' ? '内嵌 PGlite' : 'PostgreSQL'}）。网页工作台正在建设中；目前可使用命令行 <code>weipian</code> 和下面的接口。</p>
<h2>批次</h2>${batches.length ? `<table><tr><th>标识</th><th>名称</th></tr>${rows}</table>` : '<p>尚无批次。</p>'}
<h2>接口</h2><ul><li><a href="/api/health">/api/health</a> 运行状态</li>
<li><a href="/api/openapi.json">/api/openapi.json</a> 接口说明（OpenAPI）</li>
<li><code>POST /api/auth/login</code> 登录后可访问 <code>/api/batches</code>、<code>/api/batches/{批次}/patches</code> 等</li></ul>
</body></html>`;
  });
};

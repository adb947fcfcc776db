// The leaders' simple overview: per responsible unit the patches by workflow state (ECharts),
// the overdue count, and the counted areas by verdict (from the batch status API).
import { useEffect, useRef, useState } from 'react';
import { Alert, Card, Col, Row, Statistic, Table, Typography } from 'antd';
import * as echarts from 'echarts/core';
import { BarChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import { ApiError, fmtMu, get } from '../api.ts';
import { useSession } from '../session.tsx';
import { STATE_COLORS } from '../ui.tsx';

echarts.use([BarChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

interface Row {
  unitCode: string | null;
  unitName: string | null;
  patches: number;
  byState: Record<string, number>;
  areaByVerdict: Record<string, number>;
  areaM2: number;
  overdue: number;
  dueSoon: number;
}
interface Status {
  batch: { name: string };
  today: string;
  nextRound: { label: string; date: string; status: string } | null;
  units: Row[];
  total: Row;
}

export default function OverviewPage() {
  const s = useSession();
  const [status, setStatus] = useState<Status | null>(null);
  const [error, setError] = useState<string | null>(null);
  const chartEl = useRef<HTMLDivElement>(null);
  const allowed = s.me.policies['batch.status'];

  useEffect(() => {
    if (!s.batch || !allowed?.allow) return;
    get<Status>(`/api/batches/${s.batch}/status`)
      .then((r) => {
        setStatus(r);
        setError(null);
      })
      .catch((e) => setError(e instanceof ApiError ? e.message : String(e)));
  }, [s.batch, allowed?.allow]);

  useEffect(() => {
    if (!status || !chartEl.current) return;
    const chart = echarts.init(chartEl.current);
    const names = status.units.map((u) => u.unitName ?? '未定单位');
    chart.setOption({
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 100, right: 20, top: 60, bottom: 20 },
      xAxis: { type: 'value', name: '图斑数' },
      yAxis: { type: 'category', data: names },
      series: s.config.states.map((st) => ({
        name: st.label,
        type: 'bar',
        stack: 'state',
        itemStyle: { color: STATE_COLORS[st.id] },
        data: status.units.map((u) => u.byState[st.id] ?? 0),
      })),
    });
    const onResize = () => chart.resize();
    window.addEventListener('resize', onResize);
    return () => {
      window.removeEventListener('resize', onResize);
      chart.dispose();
    };
  }, [status, s.config.states]);

  if (!allowed?.allow)
    return <Alert type="info" showIcon message="总览" description={allowed?.message ?? '无权查看进度'} />;
  const t = status?.total;
  return (
    <div>
      {error && <Alert type="error" showIcon message={error} style={{ marginBottom: 12 }} />}
      <Row gutter={12} style={{ marginBottom: 12 }}>
        <Col span={6}>
          <Card>
            <Statistic title="图斑总数" value={t?.patches ?? 0} />
          </Card>
        </Col>
        <Col span={6}>
          <Card>
            <Statistic title="已逾期" value={t?.overdue ?? 0} valueStyle={{ color: '#cf1322' }} />
          </Card>
        </Col>
        <Col span={6}>
          <Card>
            <Statistic
              title="违法面积（亩）"
              value={t ? (t.areaByVerdict.illegal ?? 0) * 0.0015 : 0}
              precision={2}
            />
          </Card>
        </Col>
        <Col span={6}>
          <Card>
            <Statistic
              title={status?.nextRound ? `下一报送节点：${status.nextRound.label}` : '下一报送节点'}
              value={status?.nextRound?.date ?? '—'}
            />
          </Card>
        </Col>
      </Row>
      <Card title={`${status?.batch.name ?? ''} 各责任单位进度`} style={{ marginBottom: 12 }}>
        <div
          ref={chartEl}
          style={{ height: Math.max(300, (status?.units.length ?? 5) * 36 + 80) }}
          data-testid="overview-chart"
        />
      </Card>
      <Card title="明细">
        <Table<Row>
          size="small"
          rowKey={(r) => r.unitCode ?? 'none'}
          pagination={false}
          dataSource={status?.units ?? []}
          columns={[
            { title: '责任单位', dataIndex: 'unitName', render: (v) => v ?? '未定单位' },
            { title: '图斑', dataIndex: 'patches', align: 'right', sorter: (a, b) => a.patches - b.patches },
            ...s.config.states.map((st) => ({
              title: st.label,
              key: st.id,
              align: 'right' as const,
              render: (_: unknown, r: Row) => r.byState[st.id] ?? 0,
            })),
            { title: '逾期', dataIndex: 'overdue', align: 'right', sorter: (a, b) => a.overdue - b.overdue },
            {
              title: '违法面积',
              key: 'ill',
              align: 'right',
              render: (_, r) => fmtMu(r.areaByVerdict.illegal ?? 0),
            },
          ]}
        />
        <Typography.Paragraph type="secondary" style={{ marginTop: 8 }}>
          今天 {status?.today}
          ；面积按各部分计（与例行督察等图斑重叠部分只计一次）。完整的领导驾驶舱将在后续版本提供。
        </Typography.Paragraph>
      </Card>
    </div>
  );
}

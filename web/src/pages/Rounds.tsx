// Report rounds (报送轮次: 初报 / 更新报 / 终报) of the current batch and the upper level's results:
// the closed rounds with their snapshot hash, closing the next round after a confirmation that
// says what it will do, one round's frozen snapshot (figures per unit, the patches, who closed it
// and when, the hash checked again against the audit chain), and importing the upper level's
// result list (Excel) with the server's Chinese problems shown row by row.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import {
  Alert,
  App as AntApp,
  Button,
  Card,
  Descriptions,
  Empty,
  Form,
  Input,
  Modal,
  Radio,
  Result,
  Space,
  Spin,
  Switch,
  Table,
  Tag,
  Tooltip,
  Typography,
  Upload,
} from 'antd';
import { UploadOutlined } from '@ant-design/icons';
import type { ColumnsType } from 'antd/es/table';
import { ApiError, api, fmtMu, fmtTime, get, post } from '../api.ts';
import { useFormSubmit } from '../submit.ts';
import { usePolicy, useSession } from '../session.tsx';
import type { Unit, WorkList } from '../types.ts';
import { ActionButton, DeniedNote, ErrorAlert, StateTag, useLabels, VERDICT_COLORS } from '../ui.tsx';

interface FigureRow {
  unitCode: string | null;
  patches: number;
  byState: Record<string, number>;
  partsByVerdict: Record<string, number>;
  areaByVerdict: Record<string, number>;
  areaM2: number;
}
interface RoundSummary {
  seq: number;
  kind: string;
  label: string;
  reason: string | null;
  closedAt: string;
  closedBy: string;
  reportedCount: number;
  hash: string;
  figures: { units: FigureRow[]; total: FigureRow };
}
interface SnapshotPatch {
  id: number;
  jcbh: string;
  source: string;
  unitCode: string | null;
  state: string;
  reportedNow: boolean;
  areaM2: number;
  parts: { no: number; areaM2: number; verdict: string; subtype: string | null }[];
}
interface RoundDetail extends RoundSummary {
  snapshot: { patches: SnapshotPatch[]; batch: { name: string; rulePack: { id: string; version: string } } };
  verification: { recomputedHash: string; eventHash: string | null; ok: boolean };
}
interface RoundKind {
  id: string;
  label: string;
  dueBy?: string;
  description?: string;
}
interface UpperProblem {
  row: number;
  jcbh: string | null;
  message: string;
}

const VERDICTS = ['legal', 'other', 'illegal', 'undetermined'] as const;

function useUnitNames(): Map<string, string> {
  const [units, setUnits] = useState<Unit[]>([]);
  useEffect(() => {
    get<{ units: Unit[] }>('/api/units')
      .then((r) => setUnits(r.units))
      .catch(() => setUnits([]));
  }, []);
  return useMemo(() => new Map(units.map((u) => [u.code, u.name])), [units]);
}

function Hash({ hash }: { hash: string }) {
  return (
    <Tooltip title={`SHA-256 ${hash}`}>
      <Typography.Text code copyable={{ text: hash, tooltips: ['复制完整哈希', '已复制'] }}>
        {hash.slice(0, 16)}…
      </Typography.Text>
    </Tooltip>
  );
}

export default function RoundsPage() {
  const { seq } = useParams();
  return seq ? <RoundSnapshot seq={Number(seq)} /> : <RoundList />;
}

function RoundList() {
  const s = useSession();
  const navigate = useNavigate();
  const { message } = AntApp.useApp();
  const closePolicy = usePolicy('round.close');
  const readPolicy = usePolicy('round.read');
  const [rounds, setRounds] = useState<RoundSummary[] | null>(null);
  const [kinds, setKinds] = useState<RoundKind[]>([]);
  const [counts, setCounts] = useState<Record<string, number>>({});
  const [error, setError] = useState<string | null>(null);
  const [closing, setClosing] = useState(false);
  const batch = s.batches.find((b) => b.slug === s.batch);

  const load = useCallback(async () => {
    if (!s.batch) return;
    setError(null);
    try {
      const [r, f] = await Promise.all([
        get<{ rounds: RoundSummary[] }>(`/api/batches/${s.batch}/rounds`),
        get<{ reportRounds: RoundKind[] }>(`/api/batches/${s.batch}/judgement-form`),
      ]);
      setRounds(r.rounds);
      setKinds(f.reportRounds);
      const w = await get<WorkList>(`/api/batches/${s.batch}/worklist`).catch(() => null);
      const c: Record<string, number> = {};
      for (const i of w?.items ?? []) c[i.state] = (c[i.state] ?? 0) + 1;
      setCounts(c);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
      setRounds([]);
    }
  }, [s.batch]);
  useEffect(() => {
    void load();
  }, [load]);

  if (!readPolicy.allow)
    return <Result status="403" title="无权查看报送轮次" subTitle={readPolicy.message} />;
  if (!rounds) return <Spin style={{ display: 'block', margin: 48 }} />;

  const dueOf = (k: RoundKind) => batch?.milestones?.find((m) => m.id === k.dueBy)?.date;
  const columns: ColumnsType<RoundSummary> = [
    { title: '序号', dataIndex: 'seq', width: 60 },
    {
      title: '轮次',
      dataIndex: 'label',
      render: (v: string, r) => (
        <Link to={`/rounds/${r.seq}`} data-testid={`round-${r.seq}`}>
          {v}
        </Link>
      ),
    },
    { title: '关闭时间', dataIndex: 'closedAt', render: (v: string) => fmtTime(v) },
    { title: '关闭人', dataIndex: 'closedBy' },
    { title: '本轮上报图斑', dataIndex: 'reportedCount', align: 'right' },
    {
      title: '全批次图斑',
      key: 'total',
      align: 'right',
      render: (_: unknown, r) => r.figures.total.patches,
    },
    { title: '快照哈希', dataIndex: 'hash', render: (v: string) => <Hash hash={v} /> },
    { title: '说明', dataIndex: 'reason', render: (v: string | null) => v ?? '—' },
    {
      title: '',
      key: 'open',
      render: (_: unknown, r) => <a onClick={() => navigate(`/rounds/${r.seq}`)}>查看快照</a>,
    },
  ];

  return (
    <Space direction="vertical" size={12} style={{ width: '100%' }} data-testid="rounds-page">
      <Card
        title={
          <Space>
            <span>报送轮次</span>
            <Typography.Text type="secondary">{batch?.name ?? s.batch}</Typography.Text>
          </Space>
        }
        extra={
          <ActionButton
            type="primary"
            danger
            decision={closePolicy}
            onClick={() => setClosing(true)}
            data-testid="close-round-button"
          >
            关闭报送轮次…
          </ActionButton>
        }
      >
        <Typography.Paragraph type="secondary" style={{ marginTop: 0 }}>
          批次按轮次向上级报送：
          {kinds.map((k, i) => (
            <span key={k.id}>
              {i > 0 && '、'}
              <Tooltip title={k.description}>
                <Typography.Text underline>{k.label}</Typography.Text>
              </Tooltip>
              {dueOf(k) ? `（${dueOf(k)} 前）` : ''}
            </span>
          ))}
          。关闭一轮时，“分局初审通过”的图斑随本轮上报并锁定判定（上级退回后才能修改），全批次的状态与判定冻结为快照，快照的
          SHA-256 哈希记入审计链，日后可核对是否被改动。
        </Typography.Paragraph>
        <DeniedNote decision={closePolicy} />
        {error && <Alert type="error" showIcon message={error} style={{ marginBottom: 12 }} />}
        <Table<RoundSummary>
          rowKey="seq"
          size="small"
          dataSource={rounds}
          columns={columns}
          pagination={false}
          locale={{
            emptyText: (
              <Empty
                description={`本批次尚未关闭任何报送轮次。${
                  kinds[0] && dueOf(kinds[0]) ? `${kinds[0].label}应在 ${dueOf(kinds[0])} 24 时前报送；` : ''
                }关闭前请确认各图斑已由分局初审通过。`}
              />
            ),
          }}
        />
      </Card>
      <UpperImport batch={s.batch} onDone={load} />
      <CloseRoundModal
        open={closing}
        batch={s.batch}
        kinds={kinds}
        rounds={rounds}
        counts={counts}
        onClose={() => setClosing(false)}
        onDone={async (seq) => {
          setClosing(false);
          message.success('报送轮次已关闭，快照已冻结');
          await load();
          navigate(`/rounds/${seq}`);
        }}
      />
    </Space>
  );
}

function CloseRoundModal({
  open,
  batch,
  kinds,
  rounds,
  counts,
  onClose,
  onDone,
}: {
  open: boolean;
  batch: string;
  kinds: RoundKind[];
  rounds: RoundSummary[];
  counts: Record<string, number>;
  onClose: () => void;
  onDone: (seq: number) => Promise<void>;
}) {
  const [form] = Form.useForm<{ round: string; reason?: string }>();
  const { busy, error, setError, submit } = useFormSubmit(form);
  const labels = useLabels();
  const { config } = useSession();
  // The usual next round: 初报 first, then 更新报 (the server decides what is allowed).
  const next = rounds.some((r) => r.kind === 'initial') ? 'update' : 'initial';
  const passed = counts.passed ?? 0;
  const others = Object.entries(counts).filter(
    ([st, n]) => n > 0 && !['passed', 'reported', 'upper_passed'].includes(st),
  );
  return (
    <Modal
      open={open}
      title="关闭报送轮次"
      okText="确认关闭并上报"
      cancelText="取消"
      okButtonProps={{ danger: true, loading: busy, 'data-testid': 'close-round-ok' } as never}
      destroyOnHidden
      onCancel={() => {
        setError(null);
        onClose();
      }}
      onOk={submit(async (v) => {
        const r = await post<{ round: RoundSummary }>(`/api/batches/${batch}/rounds`, {
          round: v.round,
          ...(v.reason?.trim() ? { reason: v.reason.trim() } : {}),
        });
        form.resetFields();
        await onDone(r.round.seq);
      })}
    >
      <Alert
        type="warning"
        showIcon
        style={{ marginBottom: 12 }}
        data-testid="close-round-effect"
        message={`本轮将上报 ${passed} 个“${labels.state('passed')?.label ?? '已初审通过'}”的图斑，并锁定其判定。`}
        description={
          <div>
            {others.length > 0 ? (
              <div>
                以下图斑尚未初审通过，本轮不上报（仍计入快照）：
                {others
                  .map(([st, n]) => `${config.states.find((x) => x.id === st)?.label ?? st} ${n} 个`)
                  .join('、')}
                。
              </div>
            ) : null}
            <div>关闭后不能撤销；快照哈希记入审计链。</div>
          </div>
        }
      />
      <ErrorAlert error={error} testId="close-round-error" />
      <Form form={form} layout="vertical" initialValues={{ round: next }} preserve={false}>
        <Form.Item name="round" label="轮次" rules={[{ required: true, message: '请选择轮次' }]}>
          <Radio.Group data-testid="round-kind">
            <Space direction="vertical">
              {kinds.map((k) => (
                <Radio key={k.id} value={k.id}>
                  {k.label}
                  {k.description && (
                    <Typography.Text type="secondary" style={{ fontSize: 12, marginLeft: 6 }}>
                      {k.description}
                    </Typography.Text>
                  )}
                </Radio>
              ))}
            </Space>
          </Radio.Group>
        </Form.Item>
        <Form.Item name="reason" label="说明（可选）">
          <Input.TextArea rows={2} maxLength={1000} placeholder="如：按 3 月 14 日初报要求报送" />
        </Form.Item>
      </Form>
    </Modal>
  );
}

/** The upper level's result list (Excel), all or nothing, with every refused row listed. */
function UpperImport({ batch, onDone }: { batch: string; onDone: () => Promise<void> }) {
  const policy = usePolicy('upper.record');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ message: string; problems: UpperProblem[] } | null>(null);
  const [summary, setSummary] = useState<{
    file: string;
    rows: number;
    passed: number;
    returned: number;
    sha256: string;
  } | null>(null);

  const upload = async (file: File) => {
    setBusy(true);
    setError(null);
    setSummary(null);
    try {
      const r = await api<{ summary: NonNullable<typeof summary> }>(
        'POST',
        `/api/batches/${batch}/upper-results?${new URLSearchParams({ filename: file.name })}`,
        undefined,
        { raw: file },
      );
      setSummary(r.summary);
      await onDone();
    } catch (e) {
      const problems =
        e instanceof ApiError
          ? ((e.details as { problems?: UpperProblem[] } | undefined)?.problems ?? [])
          : [];
      setError({ message: e instanceof ApiError ? e.message : String(e), problems });
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title="导入上级审核结果（Excel）" data-testid="upper-import">
      <Typography.Paragraph type="secondary" style={{ marginTop: 0 }}>
        上级（市、省、部）对已上报图斑的审核结果清单：第一张工作表的前 10
        行内须有表头“监测编号”和“审核结果”（通过 / 退回），可选“退回原因”（退回时必填）和“整改期限”（如
        2018-05-10）。任何一行有问题时整个文件都不导入，并列出每一行的问题。
        单个图斑的结果也可以在图斑页上登记。
      </Typography.Paragraph>
      <Upload
        accept=".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        showUploadList={false}
        disabled={!policy.allow || busy}
        beforeUpload={(f) => {
          void upload(f);
          return false;
        }}
      >
        <ActionButton
          icon={<UploadOutlined />}
          decision={policy}
          loading={busy}
          data-testid="upper-import-button"
        >
          选择 Excel 文件导入
        </ActionButton>
      </Upload>
      <DeniedNote decision={policy} />
      {summary && (
        <Alert
          style={{ marginTop: 12 }}
          type="success"
          showIcon
          data-testid="upper-import-summary"
          message={`已导入“${summary.file}”的 ${summary.rows} 行：通过 ${summary.passed} 个，退回 ${summary.returned} 个`}
          description={`文件 SHA-256：${summary.sha256}`}
        />
      )}
      {error && (
        <div style={{ marginTop: 12 }} data-testid="upper-import-error">
          <Alert type="error" showIcon message={error.message} />
          {error.problems.length > 0 && (
            <Table<UpperProblem>
              style={{ marginTop: 8 }}
              size="small"
              rowKey={(r) => `${r.row}-${r.jcbh ?? ''}-${r.message}`}
              dataSource={error.problems}
              pagination={error.problems.length > 20 ? { pageSize: 20 } : false}
              columns={[
                { title: '行号', dataIndex: 'row', width: 70 },
                { title: '监测编号', dataIndex: 'jcbh', width: 180, render: (v: string | null) => v ?? '—' },
                { title: '问题', dataIndex: 'message' },
              ]}
            />
          )}
        </div>
      )}
    </Card>
  );
}

function RoundSnapshot({ seq }: { seq: number }) {
  const s = useSession();
  const labels = useLabels();
  const navigate = useNavigate();
  const units = useUnitNames();
  const [round, setRound] = useState<RoundDetail | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [onlyReported, setOnlyReported] = useState(true);

  useEffect(() => {
    if (!s.batch) return;
    setRound(null);
    get<{ round: RoundDetail }>(`/api/batches/${s.batch}/rounds/${seq}`)
      .then((r) => setRound(r.round))
      .catch((e) => setError(e instanceof ApiError ? e : new ApiError(0, 'error', String(e))));
  }, [s.batch, seq]);

  if (error)
    return (
      <Result
        status={error.status === 404 ? '404' : error.status === 403 ? '403' : 'error'}
        title="无法打开该轮次"
        subTitle={error.message}
        extra={<Button onClick={() => navigate('/rounds')}>返回报送轮次</Button>}
      />
    );
  if (!round) return <Spin style={{ display: 'block', margin: 48 }} />;

  const unitName = (code: string | null) => (code ? (units.get(code) ?? code) : '未定责任单位');
  const t = round.figures.total;
  // In the workflow's order (the snapshot's JSON keys come back in storage order).
  const stateCounts = (row: FigureRow) =>
    s.config.states
      .filter((st) => (row.byState[st.id] ?? 0) > 0)
      .map((st) => `${st.label} ${row.byState[st.id]}`)
      .join('；');
  const figureColumns: ColumnsType<FigureRow> = [
    { title: '责任单位', dataIndex: 'unitCode', render: (v: string | null) => unitName(v) },
    { title: '图斑', dataIndex: 'patches', align: 'right' },
    { title: '各状态图斑数', key: 'states', render: (_: unknown, r) => stateCounts(r) || '—' },
    ...VERDICTS.map((v) => ({
      title: `${labels.verdict(v)}面积`,
      key: v,
      align: 'right' as const,
      render: (_: unknown, r: FigureRow) => (r.areaByVerdict[v] ? fmtMu(r.areaByVerdict[v]) : '—'),
    })),
  ];
  const patches = round.snapshot.patches.filter((p) => !onlyReported || p.reportedNow);

  return (
    <Space direction="vertical" size={12} style={{ width: '100%' }} data-testid="round-snapshot">
      <Card
        title={
          <Space>
            <Link to="/rounds">报送轮次</Link>
            <span>/</span>
            <span>
              第 {round.seq} 轮 · {round.label}
            </span>
          </Space>
        }
      >
        <Descriptions size="small" bordered column={{ xs: 1, md: 2, xl: 3 }}>
          <Descriptions.Item label="批次">{round.snapshot.batch.name}</Descriptions.Item>
          <Descriptions.Item label="轮次">{round.label}</Descriptions.Item>
          <Descriptions.Item label="规则包">
            {round.snapshot.batch.rulePack.id} {round.snapshot.batch.rulePack.version}
          </Descriptions.Item>
          <Descriptions.Item label="关闭人">
            <span data-testid="round-closed-by">{round.closedBy}</span>
          </Descriptions.Item>
          <Descriptions.Item label="关闭时间">{fmtTime(round.closedAt)}</Descriptions.Item>
          <Descriptions.Item label="说明">{round.reason ?? '—'}</Descriptions.Item>
          <Descriptions.Item label="本轮上报图斑">
            <span data-testid="round-reported">{round.reportedCount}</span>
          </Descriptions.Item>
          <Descriptions.Item label="全批次图斑">{t.patches}</Descriptions.Item>
          <Descriptions.Item label="全批次面积">{fmtMu(t.areaM2)}</Descriptions.Item>
          <Descriptions.Item label="快照哈希（SHA-256）" span={{ xs: 1, md: 2, xl: 3 }}>
            <Typography.Text code copyable data-testid="round-hash">
              {round.hash}
            </Typography.Text>
          </Descriptions.Item>
          <Descriptions.Item label="核验" span={{ xs: 1, md: 2, xl: 3 }}>
            {round.verification.ok ? (
              <Tag color="green" data-testid="round-verified">
                快照未被改动：重新计算的哈希与审计链中的记录一致
              </Tag>
            ) : (
              <Tag color="red" data-testid="round-verified">
                快照哈希不一致：重新计算 {round.verification.recomputedHash.slice(0, 16)}…，审计链记录{' '}
                {round.verification.eventHash?.slice(0, 16) ?? '缺失'}
              </Tag>
            )}
          </Descriptions.Item>
        </Descriptions>
      </Card>
      <Card title="快照中的统计（按责任单位）" size="small">
        <Table<FigureRow>
          rowKey={(r) => r.unitCode ?? 'none'}
          size="small"
          dataSource={round.figures.units}
          columns={figureColumns}
          pagination={false}
          data-testid="round-figures"
          summary={() => (
            <Table.Summary.Row style={{ fontWeight: 600 }}>
              <Table.Summary.Cell index={0}>合计</Table.Summary.Cell>
              <Table.Summary.Cell index={1} align="right">
                {t.patches}
              </Table.Summary.Cell>
              <Table.Summary.Cell index={2}>{stateCounts(t)}</Table.Summary.Cell>
              {VERDICTS.map((v, i) => (
                <Table.Summary.Cell key={v} index={3 + i} align="right">
                  {t.areaByVerdict[v] ? fmtMu(t.areaByVerdict[v]) : '—'}
                </Table.Summary.Cell>
              ))}
            </Table.Summary.Row>
          )}
        />
      </Card>
      <Card
        title="快照中的图斑"
        size="small"
        extra={
          <Space>
            <Switch size="small" checked={onlyReported} onChange={setOnlyReported} />
            只看本轮上报的
          </Space>
        }
      >
        <Table<SnapshotPatch>
          rowKey="id"
          size="small"
          dataSource={patches}
          pagination={{ defaultPageSize: 20, showTotal: (n) => `共 ${n} 个图斑` }}
          locale={{
            emptyText: (
              <Empty description={onlyReported ? '本轮没有上报图斑（没有已初审通过的图斑）' : '没有图斑'} />
            ),
          }}
          columns={[
            {
              title: '监测编号',
              dataIndex: 'jcbh',
              render: (v: string, r) => <Link to={`/patches/${r.id}`}>{v}</Link>,
            },
            { title: '责任单位', dataIndex: 'unitCode', render: (v: string | null) => unitName(v) },
            { title: '来源', dataIndex: 'source', render: (v: string) => labels.source(v) },
            { title: '面积', dataIndex: 'areaM2', align: 'right', render: (v: number) => fmtMu(v) },
            {
              title: '快照时状态',
              dataIndex: 'state',
              render: (v: string, r) => (
                <Space size={4}>
                  <StateTag state={v} />
                  {r.reportedNow && <Tag color="cyan">本轮上报</Tag>}
                </Space>
              ),
            },
            {
              title: '判定（按部分）',
              key: 'parts',
              render: (_: unknown, r) =>
                r.parts.map((p) => (
                  <Tag key={p.no} color={VERDICT_COLORS[p.verdict]}>
                    {r.parts.length > 1 ? `${p.no}：` : ''}
                    {labels.verdict(p.verdict)}
                  </Tag>
                )),
            },
          ]}
        />
      </Card>
    </Space>
  );
}

// The patch page: state and deadline on top (a return's reason first, then the patches it overlaps),
// the actions the user may take (disabled with the policy's reason otherwise), delivered attributes
// under their Chinese names, what the analysis found with the pre-judgement, its reasons and missing
// evidence, the parts with their judgement form, splitting by drawing or by approval cover, the
// upper level's results, the evidence gallery (by part, with the reviewers' signal decisions) and
// the timeline.
import { useCallback, useEffect, useRef, useState } from 'react';
import { useNavigate, useParams } from 'react-router-dom';
import {
  Alert,
  App as AntApp,
  Button,
  Card,
  Col,
  Descriptions,
  Empty,
  Modal,
  Result,
  Row,
  Space,
  Spin,
  Tag,
  Timeline,
  Typography,
} from 'antd';
import 'ol/ol.css';
import OlMap from 'ol/Map';
import View from 'ol/View';
import VectorLayer from 'ol/layer/Vector';
import VectorSource from 'ol/source/Vector';
import GeoJSON from 'ol/format/GeoJSON';
import Draw from 'ol/interaction/Draw';
import { Fill, Stroke, Style, Text } from 'ol/style';
import { ApiError, fmtM2, fmtMu, fmtTime, get, post } from '../api.ts';
import { useSession } from '../session.tsx';
import { ActionButton, DueCell, PrejudgementTag, StateTag, VERDICT_COLORS, useLabels } from '../ui.tsx';
import { referenceLayer } from '../olmap.ts';
import { JudgementPanel, type JudgementForm, type PartView } from './JudgementPanel.tsx';
import { EvidencePanel, type EvidenceItem } from './EvidencePanel.tsx';
import { ReturnModal } from './WorkList.tsx';
import { DeliveredAttributes } from './DeliveredAttributes.tsx';
import { UpperResultCard, type UpperResult } from './UpperResult.tsx';

interface Allowed {
  allow: boolean;
  reason?: string;
  message?: string;
}
interface WorkflowView {
  patch: {
    id: number;
    jcbh: string;
    batch: string;
    source: string;
    sourceLabel: string;
    unitCode: string | null;
    unitName: string | null;
    areaM2: number;
  };
  workflow: {
    state: string;
    label: string;
    explanation: string;
    version: number;
    return: {
      by: string;
      reason: string;
      dueDate: string | null;
      returnedBy: string;
      returnedAt: string;
    } | null;
    deadline: { date: string; dueAt: string; status: string; source: string } | null;
    submissionNo: number;
    submittedBy: string | null;
    submittedAt: string | null;
    reviewedBy: string | null;
    reviewedAt: string | null;
    reportedRound?: { seq: number; label: string } | null;
    allowed: Record<string, Allowed>;
  };
  parts: (PartView & { geometry: unknown })[];
  upperResults?: UpperResult[];
  links?: {
    countedWith: { patchId: number; jcbh: string; source: string; overlapM2: number }[];
    overlappedBy: { patchId: number; jcbh: string; source: string; overlapM2: number }[];
  };
  analysis: { prejudgement: string | null; prejudgementReason: string | null; stale: boolean } | null;
}
interface PatchFeature {
  id: number;
  geometry: unknown;
  properties: Record<string, unknown>;
  delivered: Record<string, unknown>;
  analysis: {
    stale: boolean;
    computedAt: string;
    detail: {
      units: { code: string | null; name: string | null; areaM2: number; share: number }[] | null;
      landUse: { classes: { code: string | null; name: string | null; areaM2: number }[] } | null;
      farmlandM2: number | null;
      basicFarmlandM2: number | null;
      approvedM2: number | null;
      approvalDocs: string[];
      prejudgement: {
        outcome: string;
        label: string;
        reason: string;
        reasons?: string[];
        suspected: { label: string } | null;
        evidence: { id: string; label: string; required: boolean }[];
        missingEvidence?: { id: string; label: string }[];
      };
      notes: string[];
    };
  } | null;
}
interface EventRecord {
  seq: number;
  at: string;
  actor: string;
  actorRole: string | null;
  action: string;
  reason: string | null;
  after: unknown;
}

const ACTION_LABELS: Record<string, string> = {
  'patch.judge': '填写判定',
  'patch.handling': '修改处理方式',
  'patch.submit': '提交分局审核',
  'patch.pass': '分局初审通过',
  'patch.return': '分局退回',
  'patch.split': '拆分图斑',
  'patch.merge': '合并部分',
  'patch.reassign': '改派责任单位',
  'patch.create': '新增图斑',
  'patch.link': '关联重叠图斑',
  'patch.report': '上报',
  'patch.upper_result': '登记上级结果',
  'patch.upper_pass': '登记上级审核通过',
  'patch.upper_return': '登记上级审核退回',
  'evidence.upload': '上传举证材料',
  'evidence.supersede': '替换举证材料',
  'evidence.signal_decision': '认定举证疑点',
  'evidence.signal.confirm': '认定举证疑点为核查发现',
  'evidence.signal.dismiss': '排除举证疑点',
};

export default function PatchPage() {
  const { id } = useParams();
  const patchId = Number(id);
  const s = useSession();
  const labels = useLabels();
  const navigate = useNavigate();
  const { message } = AntApp.useApp();
  const [feature, setFeature] = useState<PatchFeature | null>(null);
  const [wf, setWf] = useState<WorkflowView | null>(null);
  const [form, setForm] = useState<JudgementForm | null>(null);
  const [evidence, setEvidence] = useState<EvidenceItem[]>([]);
  const [events, setEvents] = useState<EventRecord[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const [returning, setReturning] = useState(false);
  const [docTypes, setDocTypes] = useState<{ id: string; label: string }[]>([]);

  const loadEvidence = useCallback(async () => {
    const e = await get<{ all: EvidenceItem[] }>(`/api/patches/${patchId}/evidence`).catch(() => ({
      all: [],
    }));
    setEvidence(e.all);
  }, [patchId]);
  const loadEvents = useCallback(async () => {
    const ev = await get<{ events: EventRecord[] }>(
      `/api/events?recordType=patch&recordId=${patchId}&limit=500`,
    ).catch(() => ({ events: [] }));
    setEvents(ev.events);
  }, [patchId]);

  const load = useCallback(async () => {
    try {
      const [f, w] = await Promise.all([
        get<PatchFeature>(`/api/patches/${patchId}`),
        get<WorkflowView>(`/api/patches/${patchId}/workflow`),
      ]);
      setFeature(f);
      setWf(w);
      setError(null);
      const jf = await get<{ form: JudgementForm; documentTypes?: { id: string; label: string }[] }>(
        `/api/batches/${w.patch.batch}/judgement-form`,
      );
      setForm(jf.form);
      if (jf.documentTypes) setDocTypes(jf.documentTypes);
      await Promise.all([loadEvidence(), loadEvents()]);
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, 'error', String(e)));
    }
  }, [patchId, loadEvidence, loadEvents]);

  useEffect(() => {
    void load();
  }, [load]);

  // Document types from the evidence requirements of the form when the API does not list them.
  useEffect(() => {
    if (!form || docTypes.length) return;
    const m = new Map<string, string>();
    for (const v of form.verdicts)
      for (const st of v.subtypes) for (const e of st.evidence) if (e.docType) m.set(e.docType, e.label);
    setDocTypes([...m].map(([id, label]) => ({ id, label })));
  }, [form, docTypes.length]);

  if (error)
    return (
      <Result
        status={error.status === 403 ? '403' : error.status === 404 ? '404' : 'error'}
        title={error.status === 403 ? '无权查看' : error.status === 404 ? '图斑不存在' : '载入失败'}
        subTitle={error.message}
        extra={<Button onClick={() => navigate('/')}>回到首页</Button>}
        data-testid="patch-error"
      />
    );
  if (!feature || !wf || !form) return <Spin style={{ display: 'block', margin: 48 }} />;

  const a = wf.workflow.allowed;
  const act = async (what: 'submit' | 'pass') => {
    try {
      await post(`/api/patches/${patchId}/${what}`, { version: wf.workflow.version });
      message.success(what === 'submit' ? '已提交分局审核' : '已初审通过');
      await load();
    } catch (e) {
      message.error(e instanceof ApiError ? e.message : String(e));
      await load();
    }
  };
  const refresh = async () => {
    await load();
  };
  const detail = feature.analysis?.detail;
  const pre = detail?.prejudgement;
  const missing = pre?.missingEvidence ?? pre?.evidence ?? [];

  return (
    <div data-testid="patch-page">
      <Card style={{ marginBottom: 12 }}>
        <Space align="start" style={{ width: '100%', justifyContent: 'space-between' }} wrap>
          <div>
            <Typography.Title level={4} style={{ margin: 0 }}>
              图斑 {wf.patch.jcbh}
            </Typography.Title>
            <Space wrap style={{ marginTop: 8 }}>
              <StateTag state={wf.workflow.state} />
              <Typography.Text type="secondary" data-testid="state-explanation">
                {wf.workflow.explanation}
              </Typography.Text>
            </Space>
            <div style={{ marginTop: 8 }}>
              <Space wrap split="·">
                <span>{wf.patch.unitName ?? '未定责任单位'}</span>
                <span>{wf.patch.sourceLabel}</span>
                <span>{fmtMu(wf.patch.areaM2)}</span>
                <span>
                  截止：
                  {wf.workflow.deadline ? (
                    <DueCell
                      date={wf.workflow.deadline.date}
                      status={wf.workflow.deadline.status}
                      days={Math.max(
                        0,
                        Math.floor((Date.now() - Date.parse(wf.workflow.deadline.dueAt)) / 86400000) + 1,
                      )}
                    />
                  ) : (
                    '—'
                  )}
                </span>
                {wf.workflow.submittedAt && (
                  <span>
                    {wf.workflow.submittedBy} {fmtTime(wf.workflow.submittedAt)} 第 {wf.workflow.submissionNo}{' '}
                    次提交
                  </span>
                )}
              </Space>
            </div>
          </div>
          <Space wrap>
            <ActionButton
              type="primary"
              decision={a.submit ?? { allow: false }}
              onClick={() => void act('submit')}
              data-testid="submit-button"
            >
              提交分局审核
            </ActionButton>
            <ActionButton
              type="primary"
              decision={a.pass ?? { allow: false }}
              onClick={() => void act('pass')}
              data-testid="pass-button"
            >
              初审通过
            </ActionButton>
            <ActionButton
              danger
              decision={a.return ?? { allow: false }}
              onClick={() => setReturning(true)}
              data-testid="return-button"
            >
              退回
            </ActionButton>
            <Button onClick={() => navigate(`/map?batch=${wf.patch.batch}&patch=${patchId}`)}>
              在地图上查看
            </Button>
          </Space>
        </Space>
        {wf.workflow.return && (
          <Alert
            style={{ marginTop: 12 }}
            type="error"
            showIcon
            data-testid="return-alert"
            message={`${wf.workflow.return.by === 'upper' ? '上级' : '分局'}退回（${wf.workflow.return.returnedBy}，${fmtTime(wf.workflow.return.returnedAt)}）：${wf.workflow.return.reason}`}
            description={
              wf.workflow.return.dueDate
                ? `请在 ${wf.workflow.return.dueDate} 24 时前修改并重新提交。`
                : undefined
            }
          />
        )}
        {wf.links && wf.links.countedWith.length + wf.links.overlappedBy.length > 0 && (
          <Alert
            style={{ marginTop: 12 }}
            type="info"
            showIcon
            data-testid="patch-links"
            message={
              <span>
                {wf.links.countedWith.length > 0 && (
                  <span>
                    与已有图斑重叠（重叠部分已计入对方，不重复统计）：
                    {wf.links.countedWith.map((l, i) => (
                      <span key={l.patchId}>
                        {i > 0 && '、'}
                        <a onClick={() => navigate(`/patches/${l.patchId}`)}>{l.jcbh}</a>（
                        {labels.source(l.source)}，重叠 {fmtMu(l.overlapM2)}）
                      </span>
                    ))}
                    。
                  </span>
                )}
                {wf.links.overlappedBy.length > 0 && (
                  <span>
                    以下自行发现的图斑与本图斑重叠，重叠部分只计在本图斑：
                    {wf.links.overlappedBy.map((l, i) => (
                      <span key={l.patchId}>
                        {i > 0 && '、'}
                        <a onClick={() => navigate(`/patches/${l.patchId}`)}>{l.jcbh}</a>（
                        {labels.source(l.source)}，重叠 {fmtMu(l.overlapM2)}）
                      </span>
                    ))}
                    。
                  </span>
                )}
              </span>
            }
          />
        )}
        {!a.submit?.allow && a.submit?.message && wf.workflow.state !== 'submitted' && (
          <Typography.Paragraph type="secondary" style={{ marginTop: 8, marginBottom: 0, fontSize: 12 }}>
            提交：{a.submit.message}
          </Typography.Paragraph>
        )}
      </Card>
      <Row gutter={12}>
        <Col xs={24} xl={11}>
          <Card title="位置与部分" size="small" style={{ marginBottom: 12 }}>
            <PartsMap feature={feature} parts={wf.parts} />
            <SplitTools
              patchId={patchId}
              version={wf.workflow.version}
              decision={a.split ?? { allow: false }}
              parts={wf.parts}
              onDone={refresh}
            />
          </Card>
          <Card title="分析结果与预判" size="small" style={{ marginBottom: 12 }} data-testid="analysis">
            {!feature.analysis || !pre ? (
              <Empty description="尚未进行叠加分析" />
            ) : (
              <>
                <Space wrap>
                  <PrejudgementTag value={pre.outcome} />
                  {pre.suspected && <Tag>疑似：{pre.suspected.label}</Tag>}
                  {feature.analysis.stale && <Tag color="orange">结果已过期（参考图层有新版本）</Tag>}
                </Space>
                <Typography.Paragraph style={{ marginTop: 8 }} data-testid="prejudgement-reason">
                  {pre.reason}
                </Typography.Paragraph>
                {pre.reasons && pre.reasons.length > 0 && (
                  <ul style={{ marginTop: 0 }}>
                    {pre.reasons.map((r, i) => (
                      <li key={i}>{r}</li>
                    ))}
                  </ul>
                )}
                <div data-testid="missing-evidence">
                  <Typography.Text strong>预判所需举证：</Typography.Text>
                  {missing.length === 0 ? (
                    <Typography.Text type="secondary">无</Typography.Text>
                  ) : (
                    missing.map((m) => (
                      <Tag key={m.id} color="orange">
                        {m.label}
                      </Tag>
                    ))
                  )}
                </div>
                <Descriptions size="small" column={2} style={{ marginTop: 8 }} bordered>
                  <Descriptions.Item label="耕地">{fmtMu(detail.farmlandM2)}</Descriptions.Item>
                  <Descriptions.Item label="永久基本农田">{fmtMu(detail.basicFarmlandM2)}</Descriptions.Item>
                  <Descriptions.Item label="已批面积">{fmtMu(detail.approvedM2)}</Descriptions.Item>
                  <Descriptions.Item label="批准文号">
                    {detail.approvalDocs.join('、') || '—'}
                  </Descriptions.Item>
                  <Descriptions.Item label="所属单位" span={2}>
                    {(detail.units ?? [])
                      .map((u) => `${u.name ?? '界外'} ${(u.share * 100).toFixed(1)}%`)
                      .join('；') || '—'}
                  </Descriptions.Item>
                  <Descriptions.Item label="地类" span={2}>
                    {(detail.landUse?.classes ?? [])
                      .slice(0, 6)
                      .map((c) => `${c.name ?? c.code ?? '未知'} ${fmtMu(c.areaM2)}`)
                      .join('；') || '—'}
                  </Descriptions.Item>
                </Descriptions>
              </>
            )}
          </Card>
          <Card title="下发属性" size="small" style={{ marginBottom: 12 }}>
            <DeliveredAttributes delivered={feature.delivered ?? {}} />
          </Card>
        </Col>
        <Col xs={24} xl={13}>
          <Card
            title={`判定（规则包 ${form.rulePack.name} ${form.rulePack.version}）`}
            size="small"
            style={{ marginBottom: 12 }}
          >
            {wf.parts.map((p) => (
              <div key={p.id} style={{ marginBottom: 16 }}>
                <Typography.Text strong>
                  第 {p.no} 部分 · {fmtM2(p.areaM2)}（{fmtMu(p.areaM2)}）
                </Typography.Text>
                <Space style={{ marginLeft: 8 }}>
                  <Tag color={VERDICT_COLORS[p.verdict]}>
                    {p.verdictLabel}
                    {p.subtypeLabel ? ` · ${p.subtypeLabel}` : ''}
                  </Tag>
                  {p.judgedBy && (
                    <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                      {p.judgedBy} {fmtTime(p.judgedAt)}
                    </Typography.Text>
                  )}
                </Space>
                {p.missingEvidence.length > 0 && (
                  <div style={{ margin: '4px 0' }}>
                    <Typography.Text type="warning">还缺：</Typography.Text>
                    {p.missingEvidence.map((m) => (
                      <Tag key={m.id} color="orange">
                        {m.label}
                      </Tag>
                    ))}
                  </div>
                )}
                <JudgementPanel
                  patchId={patchId}
                  part={p}
                  form={form}
                  version={wf.workflow.version}
                  decision={a.judge ?? { allow: false }}
                  onSaved={refresh}
                />
              </div>
            ))}
          </Card>
          <UpperResultCard
            patchId={patchId}
            version={wf.workflow.version}
            state={wf.workflow.state}
            results={wf.upperResults ?? []}
            reportedRound={wf.workflow.reportedRound ?? null}
            allowed={a}
            onDone={refresh}
          />
          <Card title="举证材料" size="small" style={{ marginBottom: 12 }}>
            <EvidencePanel
              patchId={patchId}
              items={evidence}
              docTypes={docTypes}
              parts={wf.parts}
              reviewDecision={s.me.policies['evidence.review'] ?? { allow: false }}
              decision={s.me.policies['evidence.upload'] ?? { allow: false }}
              onChanged={async () => {
                await loadEvidence();
                await load();
              }}
            />
          </Card>
          <Card title="操作记录" size="small" data-testid="timeline">
            {events.length === 0 ? (
              <Empty description="尚无记录" />
            ) : (
              <Timeline
                items={events.map((e) => ({
                  color:
                    e.action === 'patch.return'
                      ? 'red'
                      : e.action === 'patch.pass'
                        ? 'green'
                        : e.action === 'patch.submit'
                          ? 'orange'
                          : 'blue',
                  children: (
                    <div data-action={e.action}>
                      <Typography.Text strong>{ACTION_LABELS[e.action] ?? e.action}</Typography.Text>{' '}
                      <Typography.Text type="secondary">
                        {e.actor} · {fmtTime(e.at)}
                      </Typography.Text>
                      {e.reason && <div>原因：{e.reason}</div>}
                    </div>
                  ),
                }))}
              />
            )}
          </Card>
        </Col>
      </Row>
      <ReturnModal
        item={returning ? { id: patchId, jcbh: wf.patch.jcbh, version: wf.workflow.version } : null}
        onClose={() => setReturning(false)}
        onDone={async () => {
          setReturning(false);
          await load();
        }}
      />
      <span style={{ display: 'none' }}>{labels.source(wf.patch.source)}</span>
    </div>
  );
}

function PartsMap({
  feature,
  parts,
}: {
  feature: PatchFeature;
  parts: (PartView & { geometry: unknown })[];
}) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const fmt = new GeoJSON({ dataProjection: 'EPSG:4326', featureProjection: 'EPSG:3857' });
    const src = new VectorSource();
    const outline = fmt.readFeature({
      type: 'Feature',
      geometry: feature.geometry,
      properties: { kind: 'patch' },
    });
    src.addFeatures(Array.isArray(outline) ? outline : [outline]);
    for (const p of parts) {
      const f = fmt.readFeature({
        type: 'Feature',
        geometry: p.geometry,
        properties: { kind: 'part', no: p.no, verdict: p.verdict },
      });
      src.addFeatures(Array.isArray(f) ? f : [f]);
    }
    const map = new OlMap({
      target: el.current!,
      controls: [],
      layers: [
        referenceLayer('land-use'),
        new VectorLayer({
          source: src,
          style: (f) => {
            const k = f.get('kind');
            if (k === 'patch') return new Style({ stroke: new Stroke({ color: '#00b8d9', width: 3 }) });
            const c = VERDICT_COLORS[f.get('verdict') as string] ?? '#999';
            return new Style({
              stroke: new Stroke({ color: c, width: 1.5 }),
              fill: new Fill({ color: `${c}55` }),
              text:
                parts.length > 1
                  ? new Text({ text: String(f.get('no')), font: 'bold 14px sans-serif' })
                  : undefined,
            });
          },
        }),
      ],
      view: new View({ maxZoom: 20 }),
    });
    map.getView().fit(src.getExtent()!, { padding: [30, 30, 30, 30], maxZoom: 18 });
    (window as unknown as { __weipianPartsMap?: { map: OlMap; src: VectorSource } }).__weipianPartsMap = {
      map,
      src,
    };
    return () => map.setTarget(undefined);
  }, [feature, parts]);
  return <div ref={el} style={{ height: 300, background: '#f2efe9' }} data-testid="parts-map" />;
}

function SplitTools({
  patchId,
  version,
  decision,
  parts,
  onDone,
}: {
  patchId: number;
  version: number;
  decision: Allowed;
  parts: PartView[];
  onDone: () => Promise<void>;
}) {
  const { message } = AntApp.useApp();
  const [drawing, setDrawing] = useState(false);
  const drawn = useRef<unknown[]>([]);
  const [count, setCount] = useState(0);

  useEffect(() => {
    if (!drawing) return;
    const pm = (window as unknown as { __weipianPartsMap?: { map: OlMap; src: VectorSource } })
      .__weipianPartsMap;
    if (!pm) return;
    const src = new VectorSource();
    const layer = new VectorLayer({
      source: src,
      style: new Style({ stroke: new Stroke({ color: '#fa541c', width: 2, lineDash: [4, 4] }) }),
    });
    pm.map.addLayer(layer);
    const draw = new Draw({ source: src, type: 'Polygon' });
    const fmt = new GeoJSON({ dataProjection: 'EPSG:4326', featureProjection: 'EPSG:3857' });
    draw.on('drawend', (e) => {
      drawn.current.push(fmt.writeGeometryObject(e.feature.getGeometry()!, { decimals: 8 }));
      setCount(drawn.current.length);
    });
    pm.map.addInteraction(draw);
    return () => {
      pm.map.removeInteraction(draw);
      pm.map.removeLayer(layer);
    };
  }, [drawing]);

  const run = async (body: unknown, path = 'split') => {
    try {
      await post(`/api/patches/${patchId}/${path}`, body);
      message.success(path === 'split' ? '已拆分，各部分需重新判定' : '已合并');
      drawn.current = [];
      setCount(0);
      setDrawing(false);
      await onDone();
    } catch (e) {
      message.error(e instanceof ApiError ? e.message : String(e));
    }
  };

  return (
    <Space wrap style={{ marginTop: 8 }}>
      {!drawing ? (
        <ActionButton size="small" decision={decision} onClick={() => setDrawing(true)}>
          手绘拆分
        </ActionButton>
      ) : (
        <>
          <Typography.Text type="secondary">在图上画出部分（双击结束），已画 {count} 个</Typography.Text>
          <Button
            size="small"
            type="primary"
            disabled={count === 0}
            onClick={() =>
              void run({ version, mode: 'drawn', parts: drawn.current, clipToPatch: true, rest: true })
            }
          >
            按所画拆分（其余为最后一部分）
          </Button>
          <Button size="small" onClick={() => ((drawn.current = []), setCount(0), setDrawing(false))}>
            取消
          </Button>
        </>
      )}
      <ActionButton
        size="small"
        decision={decision}
        onClick={() =>
          Modal.confirm({
            title: '按批准范围拆分？',
            content: '把图斑拆为“已批”和“超出批准范围”两部分，各部分需重新判定。',
            okText: '拆分',
            cancelText: '取消',
            onOk: () => run({ version, mode: 'approval' }),
          })
        }
      >
        按批准范围拆分
      </ActionButton>
      {parts.length > 1 && (
        <ActionButton size="small" decision={decision} onClick={() => void run({ version }, 'merge')}>
          合并全部部分
        </ActionButton>
      )}
    </Space>
  );
}

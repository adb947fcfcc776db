// The evidence gallery of a patch: photos with their EXIF facts (time, position, direction,
// camera) and integrity signals, documents by type; upload of a photo or a document to the whole
// patch or to one of its parts. A split patch's gallery is grouped by part, each with the checklist
// of what that part still lacks; reviewers confirm or dismiss each signal with a reason.
import { useCallback, useEffect, useMemo, useState } from 'react';
import {
  App as AntApp,
  Button,
  Card,
  Empty,
  Image,
  Select,
  Space,
  Tag,
  Tooltip,
  Typography,
  Upload,
} from 'antd';
import { CheckCircleOutlined, ExclamationCircleOutlined, UploadOutlined } from '@ant-design/icons';
import { ApiError, api, fmtMu, fmtTime, get } from '../api.ts';
import { ActionButton, ErrorAlert } from '../ui.tsx';
import type { Decision } from '../types.ts';
import { SignalDecisionModal, SignalView, type Signal } from './SignalDecision.tsx';

export interface EvidenceItem {
  id: number;
  part_id: number | null;
  kind: 'photo' | 'document';
  doc_type: string | null;
  doc_no: string | null;
  original_name: string;
  size_bytes: number;
  sha256: string;
  created_at: string;
  created_by: string;
  has_thumbnail: boolean;
  superseded_by: number | null;
  exif: {
    takenAt: string | null;
    lat: number | null;
    lon: number | null;
    accuracyM: number | null;
    directionDeg: number | null;
    make: string | null;
    model: string | null;
  } | null;
  signals: Signal[];
}

/** A current part of the patch, as the gallery needs it. */
export interface EvidencePart {
  id: number;
  no: number;
  areaM2: number;
  verdictLabel: string;
  subtypeLabel: string | null;
}

interface ChecklistItem {
  id: string;
  label: string;
  required: boolean;
  minCount: number;
  present: number;
  missing: number;
  satisfied: boolean;
  withOpenSignals: number[];
  rejectedIds: number[];
  description: string | null;
}
interface Checklist {
  status: 'no_verdict' | 'complete' | 'incomplete';
  verdictLabel: string | null;
  subtypeLabel: string | null;
  items: ChecklistItem[];
  missing: string[];
  summary: string;
}
interface ChecklistResult {
  verdictSource: 'judgement' | 'request' | 'none';
  complete: boolean;
  checklist: Checklist;
  parts: { partId: number; no: number; checklist: Checklist }[];
}

const WHOLE = 'patch';

export function EvidencePanel({
  patchId,
  items,
  docTypes,
  decision,
  reviewDecision,
  parts = [],
  onChanged,
}: {
  patchId: number;
  items: EvidenceItem[];
  docTypes: { id: string; label: string }[];
  decision: Decision | { allow: boolean; message?: string };
  /** May the user confirm or dismiss integrity signals (evidence.review). */
  reviewDecision?: Decision | { allow: boolean; message?: string };
  /** The patch's current parts (several when it is split). */
  parts?: EvidencePart[];
  onChanged: () => Promise<void>;
}) {
  const { message } = AntApp.useApp();
  const [kind, setKind] = useState<'photo' | 'document'>('photo');
  const [docType, setDocType] = useState<string | undefined>();
  const [target, setTarget] = useState<string>(WHOLE);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [checklist, setChecklist] = useState<ChecklistResult | null>(null);
  const [deciding, setDeciding] = useState<{ signal: Signal; mode: 'confirm' | 'dismiss' } | null>(null);
  const split = parts.length > 1;
  const partKey = parts.map((p) => p.id).join(',');

  // A part that went away (split or merge) cannot receive uploads any more.
  useEffect(() => {
    if (target !== WHOLE && !parts.some((p) => String(p.id) === target)) setTarget(WHOLE);
  }, [partKey]);

  const loadChecklist = useCallback(async () => {
    setChecklist(await get<ChecklistResult>(`/api/patches/${patchId}/evidence/checklist`).catch(() => null));
  }, [patchId]);
  useEffect(() => {
    void loadChecklist();
  }, [loadChecklist, items, partKey]);

  const upload = async (file: File) => {
    setBusy(true);
    setError(null);
    try {
      const q = new URLSearchParams({ filename: file.name, kind });
      if (kind === 'document' && docType) q.set('docType', docType);
      if (target !== WHOLE) q.set('partId', target);
      const r = await api<{ evidence: EvidenceItem; signals: EvidenceItem['signals'] }>(
        'POST',
        `/api/patches/${patchId}/evidence?${q}`,
        undefined,
        { raw: file },
      );
      const where =
        target === WHOLE ? '' : `（第 ${parts.find((p) => String(p.id) === target)?.no ?? '?'} 部分）`;
      message.success(
        r.signals.length
          ? `已上传“${file.name}”${where}，发现 ${r.signals.length} 个疑点：${r.signals.map((s) => s.label).join('、')}`
          : `已上传“${file.name}”${where}`,
      );
      await onChanged();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const docLabel = (id: string | null) => docTypes.find((d) => d.id === id)?.label ?? id ?? '文件';

  // Groups: the whole patch (counts for every part), each current part, and parts since replaced.
  const groups = useMemo(() => {
    if (!split) return [{ key: WHOLE, title: null as string | null, part: null, items }];
    const current = new Set(parts.map((p) => p.id));
    const out: { key: string; title: string | null; part: EvidencePart | null; items: EvidenceItem[] }[] = [
      {
        key: WHOLE,
        title: '整个图斑（对各部分都有效）',
        part: null,
        items: items.filter((i) => i.part_id === null),
      },
      ...parts.map((p) => ({
        key: String(p.id),
        title: `第 ${p.no} 部分 · ${p.verdictLabel}${p.subtypeLabel ? `·${p.subtypeLabel}` : ''} · ${fmtMu(p.areaM2)}`,
        part: p,
        items: items.filter((i) => i.part_id === p.id),
      })),
    ];
    const old = items.filter((i) => i.part_id !== null && !current.has(i.part_id));
    if (old.length)
      out.push({ key: 'retired', title: '拆分或合并前的部分（仍对各部分有效）', part: null, items: old });
    return out;
  }, [items, parts, split]);

  const checklistOf = (part: EvidencePart | null): Checklist | null => {
    if (!checklist) return null;
    if (part) return checklist.parts.find((p) => p.partId === part.id)?.checklist ?? null;
    return split ? null : checklist.checklist;
  };

  const photoCard = (p: EvidenceItem) => (
    <Card
      key={p.id}
      size="small"
      data-testid="photo-card"
      data-evidence-id={p.id}
      cover={
        p.has_thumbnail ? (
          <Image
            src={`/api/evidence/${p.id}/thumbnail`}
            preview={{ src: `/api/evidence/${p.id}/file` }}
            alt={p.original_name}
            height={150}
            style={{ objectFit: 'cover' }}
          />
        ) : undefined
      }
    >
      <Typography.Text strong ellipsis style={{ display: 'block' }}>
        {p.original_name}
        {p.superseded_by !== null && <Tag style={{ marginLeft: 4 }}>已替换</Tag>}
      </Typography.Text>
      <div style={{ fontSize: 12, lineHeight: 1.7 }}>
        <div>拍摄时间：{p.exif?.takenAt ? fmtTime(p.exif.takenAt) : '无'}</div>
        <div data-testid="exif-gps">
          位置：
          {p.exif?.lat !== null && p.exif?.lat !== undefined
            ? `${p.exif.lat.toFixed(6)}, ${p.exif.lon!.toFixed(6)}`
            : '无 GPS'}
          {p.exif?.accuracyM ? `（±${p.exif.accuracyM} 米）` : ''}
        </div>
        <div>
          方向：
          {p.exif?.directionDeg !== null && p.exif?.directionDeg !== undefined
            ? `${p.exif.directionDeg.toFixed(0)}°`
            : '无'}
        </div>
        <div>相机：{[p.exif?.make, p.exif?.model].filter(Boolean).join(' ') || '—'}</div>
        <div>
          上传：{p.created_by} {fmtTime(p.created_at)}
        </div>
        <Tooltip title={`SHA-256 ${p.sha256}`}>
          <div style={{ color: '#999' }}>SHA-256 {p.sha256.slice(0, 12)}…</div>
        </Tooltip>
      </div>
      <div style={{ marginTop: 4 }} data-testid="signals">
        {p.signals.length === 0 ? (
          <Tag color="green">未发现疑点</Tag>
        ) : (
          p.signals.map((s) => (
            <SignalView
              key={s.id}
              signal={s}
              decision={reviewDecision ?? { allow: false, message: '只有分局审核人员可以认定或排除疑点' }}
              onDecide={(signal, mode) => setDeciding({ signal, mode })}
            />
          ))
        )}
      </div>
    </Card>
  );

  const docRow = (d: EvidenceItem) => (
    <div key={d.id} style={{ padding: '4px 0' }} data-testid="document-row">
      <Tag>{docLabel(d.doc_type)}</Tag>
      <a href={`/api/evidence/${d.id}/file`} target="_blank" rel="noreferrer">
        {d.original_name}
      </a>
      {d.superseded_by !== null && <Tag style={{ marginLeft: 4 }}>已替换</Tag>}
      <Typography.Text type="secondary" style={{ marginLeft: 8, fontSize: 12 }}>
        {d.created_by} {fmtTime(d.created_at)}
      </Typography.Text>
    </div>
  );

  return (
    <div data-testid="evidence">
      <ErrorAlert error={error} testId="evidence-error" />
      <Space wrap style={{ marginBottom: 12 }}>
        {split && (
          <Select
            value={target}
            onChange={setTarget}
            style={{ width: 230 }}
            aria-label="上传到"
            data-testid="upload-part"
            options={[
              { value: WHOLE, label: '上传到：整个图斑（各部分通用）' },
              ...parts.map((p) => ({
                value: String(p.id),
                label: `上传到：第 ${p.no} 部分`,
              })),
            ]}
          />
        )}
        <Select
          value={kind}
          onChange={setKind}
          style={{ width: 110 }}
          options={[
            { value: 'photo', label: '现场照片' },
            { value: 'document', label: '文件材料' },
          ]}
        />
        {kind === 'document' && (
          <Select
            placeholder="材料类型"
            style={{ width: 260 }}
            value={docType}
            onChange={setDocType}
            options={docTypes.map((d) => ({ value: d.id, label: d.label }))}
          />
        )}
        <Upload
          accept={kind === 'photo' ? 'image/jpeg,image/png,image/heic' : undefined}
          showUploadList={false}
          disabled={!decision.allow || busy || (kind === 'document' && !docType)}
          beforeUpload={(f) => {
            void upload(f);
            return false;
          }}
        >
          <ActionButton
            icon={<UploadOutlined />}
            decision={decision}
            loading={busy}
            disabled={kind === 'document' && !docType}
            data-testid="upload-button"
          >
            上传{kind === 'photo' ? '照片' : '文件'}
          </ActionButton>
        </Upload>
      </Space>
      {split && (
        <Typography.Paragraph type="secondary" style={{ fontSize: 12, marginTop: -4 }}>
          图斑已拆分为 {parts.length}{' '}
          个部分：上传到“整个图斑”的材料对每个部分都有效，上传到某一部分的只对该部分有效。
        </Typography.Paragraph>
      )}
      {items.length === 0 && !split && (
        <>
          <ChecklistView checklist={checklistOf(null)} />
          <Empty description="尚无举证材料：请上传现场照片（带拍摄时间、位置与方向）和有关文件" />
        </>
      )}
      {groups.map((g) => {
        if (!split && items.length === 0) return null;
        const photos = g.items.filter((i) => i.kind === 'photo');
        const docs = g.items.filter((i) => i.kind === 'document');
        return (
          <div
            key={g.key}
            data-testid="evidence-group"
            data-group={g.part ? `part-${g.part.no}` : g.key}
            style={
              split
                ? { border: '1px solid #f0f0f0', borderRadius: 4, padding: 8, marginBottom: 12 }
                : undefined
            }
          >
            {g.title && (
              <Typography.Text strong style={{ display: 'block', marginBottom: 4 }}>
                {g.title}
              </Typography.Text>
            )}
            {(g.part || !split) && <ChecklistView checklist={checklistOf(g.part)} />}
            {split && g.items.length === 0 && (
              <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                {g.part ? '没有只属于这一部分的材料' : '没有上传到整个图斑的材料'}
              </Typography.Text>
            )}
            {photos.length > 0 && (
              <div
                style={{
                  display: 'grid',
                  gridTemplateColumns: 'repeat(auto-fill, minmax(250px, 1fr))',
                  gap: 12,
                  marginTop: 4,
                }}
              >
                {photos.map(photoCard)}
              </div>
            )}
            {docs.length > 0 && <div style={{ marginTop: 8 }}>{docs.map(docRow)}</div>}
          </div>
        );
      })}
      <Button type="link" onClick={() => void onChanged()} style={{ paddingLeft: 0 }}>
        刷新
      </Button>
      <SignalDecisionModal
        target={deciding}
        onClose={() => setDeciding(null)}
        onDone={async () => {
          setDeciding(null);
          await onChanged();
        }}
      />
    </div>
  );
}

/** What a part (or the whole patch) still lacks, from the rule pack's evidence checklist. */
function ChecklistView({ checklist }: { checklist: Checklist | null }) {
  if (!checklist) return null;
  if (checklist.status === 'no_verdict')
    return (
      <div style={{ fontSize: 12, color: '#8c8c8c', margin: '2px 0 6px' }} data-testid="checklist">
        举证清单：尚未判定，判定后显示需要哪些材料。
      </div>
    );
  return (
    <div style={{ margin: '2px 0 6px' }} data-testid="checklist" data-complete={checklist.status}>
      <Space size={[4, 4]} wrap>
        <Typography.Text style={{ fontSize: 12 }}>举证清单：</Typography.Text>
        {checklist.items.map((i) => {
          const have = `${Math.min(i.present, i.minCount)}/${i.minCount}`;
          const pending = i.withOpenSignals.length;
          const rejected = i.rejectedIds.length;
          const tip = [
            i.description,
            pending ? `${pending} 份材料有待审核的疑点` : null,
            rejected ? `${rejected} 份材料经认定不能作为举证，不计数` : null,
          ]
            .filter(Boolean)
            .join('；');
          return (
            <Tooltip key={i.id} title={tip || undefined}>
              <Tag
                color={i.satisfied ? 'green' : i.required ? 'orange' : 'default'}
                icon={i.satisfied ? <CheckCircleOutlined /> : <ExclamationCircleOutlined />}
                data-testid="checklist-item"
                data-satisfied={i.satisfied ? '1' : '0'}
              >
                {i.label}
                {i.satisfied ? ` ${have}` : i.required ? ` 还缺 ${i.missing}（${have}）` : '（可选，尚无）'}
                {pending > 0 && ' · 待审疑点'}
              </Tag>
            </Tooltip>
          );
        })}
        {checklist.items.length === 0 && (
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            本判定不需要举证材料
          </Typography.Text>
        )}
      </Space>
    </div>
  );
}

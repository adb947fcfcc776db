// The evidence gallery of a patch: photos with their EXIF facts (time, position, direction,
// camera) and integrity signals, documents by type; upload of a photo or a document.
import { useState } from 'react';
import {
  Alert,
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
import { UploadOutlined } from '@ant-design/icons';
import { ApiError, api, fmtTime } from '../api.ts';
import { ActionButton } from '../ui.tsx';
import type { Decision } from '../types.ts';

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
  signals: {
    id: number;
    code: string;
    label: string;
    message: string;
    status: string;
    finding_label: string | null;
  }[];
}

export function EvidencePanel({
  patchId,
  items,
  docTypes,
  decision,
  onChanged,
}: {
  patchId: number;
  items: EvidenceItem[];
  docTypes: { id: string; label: string }[];
  decision: Decision | { allow: boolean; message?: string };
  onChanged: () => Promise<void>;
}) {
  const { message } = AntApp.useApp();
  const [kind, setKind] = useState<'photo' | 'document'>('photo');
  const [docType, setDocType] = useState<string | undefined>();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const upload = async (file: File) => {
    setBusy(true);
    setError(null);
    try {
      const q = new URLSearchParams({ filename: file.name, kind });
      if (kind === 'document' && docType) q.set('docType', docType);
      const r = await api<{ evidence: EvidenceItem; signals: EvidenceItem['signals'] }>(
        'POST',
        `/api/patches/${patchId}/evidence?${q}`,
        undefined,
        { raw: file },
      );
      message.success(
        r.signals.length
          ? `已上传“${file.name}”，发现 ${r.signals.length} 个疑点：${r.signals.map((s) => s.label).join('、')}`
          : `已上传“${file.name}”`,
      );
      await onChanged();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const photos = items.filter((i) => i.kind === 'photo');
  const docs = items.filter((i) => i.kind === 'document');
  const docLabel = (id: string | null) => docTypes.find((d) => d.id === id)?.label ?? id ?? '文件';

  return (
    <div data-testid="evidence">
      {error && (
        <Alert
          type="error"
          showIcon
          message={error}
          style={{ marginBottom: 12 }}
          data-testid="evidence-error"
        />
      )}
      <Space wrap style={{ marginBottom: 12 }}>
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
      {photos.length === 0 && docs.length === 0 && <Empty description="尚无举证材料" />}
      <div style={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fill, minmax(230px, 1fr))', gap: 12 }}>
        {photos.map((p) => (
          <Card
            key={p.id}
            size="small"
            data-testid="photo-card"
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
                  <Tooltip
                    key={s.id}
                    title={`${s.message}${s.finding_label ? `（认定：${s.finding_label}）` : ''}`}
                  >
                    <Tag
                      color={s.status === 'open' ? 'orange' : s.status === 'confirmed' ? 'red' : 'default'}
                    >
                      {s.label}
                    </Tag>
                  </Tooltip>
                ))
              )}
            </div>
          </Card>
        ))}
      </div>
      {docs.length > 0 && (
        <div style={{ marginTop: 12 }}>
          {docs.map((d) => (
            <div key={d.id} style={{ padding: '4px 0' }}>
              <Tag>{docLabel(d.doc_type)}</Tag>
              <a href={`/api/evidence/${d.id}/file`} target="_blank" rel="noreferrer">
                {d.original_name}
              </a>
              <Typography.Text type="secondary" style={{ marginLeft: 8, fontSize: 12 }}>
                {d.created_by} {fmtTime(d.created_at)}
              </Typography.Text>
            </div>
          ))}
        </div>
      )}
      <Button type="link" onClick={() => void onChanged()} style={{ paddingLeft: 0 }}>
        刷新
      </Button>
    </div>
  );
}

// Drawing a 巡查/举报 (or 例行督察) patch on the map workspace: the user draws a polygon, chooses the
// source and says what was found; the server measures it, gives it to the unit holding the largest
// share (or the one chosen) and links it to the patches it overlaps, whose overlap is then counted
// once. Self-contained: the map page only mounts it and refreshes its patches when one is created.
import { useEffect, useRef, useState } from 'react';
import { useNavigate } from 'react-router-dom';
import {
  Alert,
  App as AntApp,
  Button,
  Descriptions,
  Divider,
  Form,
  Input,
  Modal,
  Radio,
  Result,
  Select,
  Space,
  Tooltip,
  Typography,
} from 'antd';
import { EditOutlined } from '@ant-design/icons';
import type OlMap from 'ol/Map';
import VectorLayer from 'ol/layer/Vector';
import VectorSource from 'ol/source/Vector';
import Draw from 'ol/interaction/Draw';
import GeoJSON from 'ol/format/GeoJSON';
import { Fill, Stroke, Style } from 'ol/style';
import { toLonLat } from 'ol/proj';
import type { Polygon } from 'ol/geom';
import { ApiError, fmtMu, get, post } from '../api.ts';
import { useFormSubmit } from '../submit.ts';
import { usePolicy, useSession } from '../session.tsx';
import type { Unit, WorkItem } from '../types.ts';
import { ActionButton, DeniedNote, ErrorAlert, useLabels } from '../ui.tsx';
import { geodesicArea } from '../measure.ts';

/** The sources a drawn patch may have (satellite patches only come from the Ministry's delivery). */
const DRAWN_SOURCES = ['patrol', 'report', 'routine_inspection'];

interface Created {
  patch: { id: number; jcbh: string; sourceLabel: string; unitName: string | null; areaM2: number };
  links: { countedWith: { patchId: number; jcbh: string; overlapM2: number }[] };
}

interface Drawn {
  geometry: unknown;
  areaM2: number;
  /** Patches whose bounding box meets the drawing: a hint before the server's exact overlay. */
  near: WorkItem[];
}

export function DrawPatch({
  getMap,
  batch,
  items,
  onCreated,
}: {
  getMap: () => OlMap | null;
  batch: string;
  items: WorkItem[];
  onCreated: (patchId: number) => void;
}) {
  const policy = usePolicy('patch.create');
  const s = useSession();
  const labels = useLabels();
  const navigate = useNavigate();
  const { message } = AntApp.useApp();
  const [drawing, setDrawing] = useState(false);
  const [drawn, setDrawn] = useState<Drawn | null>(null);
  const [created, setCreated] = useState<Created | null>(null);
  const [units, setUnits] = useState<Unit[]>([]);
  const [form] = Form.useForm<{ source: string; note: string; unitCode?: string; jcbh?: string }>();
  const { busy, error, setError, submit } = useFormSubmit(form);
  const source = useRef(new VectorSource());
  const itemsRef = useRef(items);
  itemsRef.current = items;
  // The map page may pass a new function each render: the effects below must not restart for that.
  const mapOf = useRef(getMap);
  mapOf.current = getMap;

  useEffect(() => {
    if (!policy.allow) return;
    get<{ units: Unit[] }>('/api/units')
      .then((r) => setUnits(r.units))
      .catch(() => setUnits([]));
  }, [policy.allow]);

  // The drawing layer lives as long as this tool; the map's click-to-select pauses while it works.
  const busyOnMap = drawing || drawn !== null;
  useEffect(() => {
    const map = mapOf.current();
    if (!map) return;
    map.set('drawing', busyOnMap);
    if (!busyOnMap) return;
    const layer = new VectorLayer({
      source: source.current,
      zIndex: 110,
      style: new Style({
        stroke: new Stroke({ color: '#fa541c', width: 2, lineDash: [6, 4] }),
        fill: new Fill({ color: 'rgba(250,84,28,0.15)' }),
      }),
    });
    map.addLayer(layer);
    return () => {
      map.removeLayer(layer);
      map.set('drawing', false);
    };
  }, [busyOnMap]);

  useEffect(() => {
    const map = mapOf.current();
    if (!map || !drawing) return;
    const draw = new Draw({ source: source.current, type: 'Polygon' });
    draw.on('drawstart', () => source.current.clear());
    draw.on('drawend', (e) => {
      const g = e.feature.getGeometry() as Polygon;
      const ring = g.getCoordinates()[0]!.map((c) => toLonLat(c) as [number, number]);
      const fmt = new GeoJSON({ dataProjection: 'EPSG:4326', featureProjection: 'EPSG:3857' });
      const lons = ring.map((c) => c[0]);
      const lats = ring.map((c) => c[1]);
      const box = [Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats)];
      setDrawn({
        geometry: fmt.writeGeometryObject(g, { decimals: 8 }),
        areaM2: geodesicArea(ring),
        near: itemsRef.current.filter(
          (i) => i.bbox[0] <= box[2]! && i.bbox[2] >= box[0]! && i.bbox[1] <= box[3]! && i.bbox[3] >= box[1]!,
        ),
      });
      setDrawing(false);
    });
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        draw.abortDrawing();
        setDrawing(false);
      } else if (e.key === 'Backspace') draw.removeLastPoint();
    };
    window.addEventListener('keydown', onKey);
    map.addInteraction(draw);
    return () => {
      window.removeEventListener('keydown', onKey);
      map.removeInteraction(draw);
    };
  }, [drawing]);

  const close = () => {
    setDrawn(null);
    setCreated(null);
    setError(null);
    source.current.clear();
  };

  const create = submit(async (v) => {
    const r = await post<Created>(`/api/batches/${batch}/patches`, {
      source: v.source,
      geometry: drawn!.geometry,
      note: v.note.trim(),
      ...(v.unitCode ? { unitCode: v.unitCode } : {}),
      ...(v.jcbh?.trim() ? { jcbh: v.jcbh.trim() } : {}),
    });
    setCreated(r);
    form.resetFields();
    onCreated(r.patch.id);
  });

  const relink = async () => {
    try {
      const r = await post<{ checked: number; linked: number; changed: unknown[] }>(
        `/api/batches/${batch}/links`,
      );
      message.success(
        `已重新检查 ${r.checked} 个自行发现的图斑：${r.linked} 个与已有图斑重叠，${r.changed.length} 个的关联有变化`,
      );
    } catch (e) {
      message.error(e instanceof ApiError ? e.message : String(e));
    }
  };

  const sourceOptions = DRAWN_SOURCES.map((id) => ({ value: id, label: labels.source(id) }));

  return (
    <>
      <Divider style={{ margin: '4px 0' }} titlePlacement="left" plain>
        新增巡查、举报图斑
      </Divider>
      {!drawing ? (
        <Space wrap>
          <ActionButton
            size="small"
            icon={<EditOutlined />}
            decision={policy}
            disabled={!batch || drawn !== null}
            onClick={() => setDrawing(true)}
            data-testid="draw-patch-button"
          >
            在地图上绘制图斑
          </ActionButton>
          {policy.allow && (
            <Tooltip title="导入新的卫片图斑后，重新计算巡查、举报、例行督察图斑与已有图斑的重叠关联（重叠部分只计一次）">
              <Button size="small" type="link" onClick={() => void relink()} data-testid="relink-button">
                重新关联重叠图斑
              </Button>
            </Tooltip>
          )}
        </Space>
      ) : (
        <Space direction="vertical" size={4} style={{ width: '100%' }}>
          <Alert
            type="info"
            showIcon
            data-testid="draw-hint"
            message="在地图上单击逐点勾绘图斑边界，双击结束；退格键撤销上一点，Esc 取消。"
          />
          <Button size="small" onClick={() => setDrawing(false)}>
            取消绘制
          </Button>
        </Space>
      )}
      <DeniedNote decision={policy} />
      <Modal
        open={drawn !== null}
        title={created ? '图斑已创建' : '新增图斑'}
        onCancel={close}
        destroyOnHidden
        maskClosable={false}
        footer={
          created
            ? [
                <Button key="stay" onClick={close}>
                  留在地图
                </Button>,
                <Button
                  key="open"
                  type="primary"
                  onClick={() => navigate(`/patches/${created.patch.id}`)}
                  data-testid="open-new-patch"
                >
                  打开图斑页
                </Button>,
              ]
            : [
                <Button key="cancel" onClick={close}>
                  放弃
                </Button>,
                <Button
                  key="ok"
                  type="primary"
                  loading={busy}
                  onClick={() => void create()}
                  data-testid="create-patch-ok"
                >
                  创建图斑
                </Button>,
              ]
        }
      >
        {created ? (
          <Result
            status="success"
            style={{ padding: '8px 0' }}
            title={`已创建${created.patch.sourceLabel}图斑 ${created.patch.jcbh}`}
            subTitle={`${created.patch.unitName ?? '未定责任单位'} · ${fmtMu(created.patch.areaM2)}；已在地图上选中，进入“已下发”状态，由责任单位核查。`}
            data-testid="created-patch"
          >
            {created.links.countedWith.length > 0 ? (
              <Typography.Paragraph style={{ margin: 0 }}>
                与已有图斑重叠，重叠部分已计入对方，统计时不重复：
                {created.links.countedWith.map((l) => `${l.jcbh}（重叠 ${fmtMu(l.overlapM2)}）`).join('、')}
              </Typography.Paragraph>
            ) : (
              <Typography.Paragraph type="secondary" style={{ margin: 0 }}>
                与已有图斑没有重叠。
              </Typography.Paragraph>
            )}
          </Result>
        ) : (
          drawn && (
            <>
              <Descriptions size="small" column={1} style={{ marginBottom: 8 }}>
                <Descriptions.Item label="批次">
                  {s.batches.find((b) => b.slug === batch)?.name ?? batch}
                </Descriptions.Item>
                <Descriptions.Item label="所画面积">
                  <span data-testid="drawn-area">{fmtMu(drawn.areaM2)}</span>
                  <Typography.Text type="secondary" style={{ fontSize: 12, marginLeft: 6 }}>
                    （椭球面积，以系统计算为准）
                  </Typography.Text>
                </Descriptions.Item>
                <Descriptions.Item label="附近已有图斑">
                  {drawn.near.length === 0
                    ? '无'
                    : `${drawn.near
                        .slice(0, 5)
                        .map((i) => i.jcbh)
                        .join('、')}${drawn.near.length > 5 ? ` 等 ${drawn.near.length} 个` : ''}`}
                </Descriptions.Item>
              </Descriptions>
              {drawn.near.length > 0 && (
                <Alert
                  type="info"
                  showIcon
                  style={{ marginBottom: 12 }}
                  message="创建后系统按实际重叠面积自动关联这些图斑：重叠部分只计一次，不会重复统计。"
                />
              )}
              <ErrorAlert error={error} testId="create-patch-error" />
              <Form form={form} layout="vertical" preserve={false}>
                <Form.Item
                  name="source"
                  label="图斑来源"
                  rules={[{ required: true, message: '请选择图斑来源' }]}
                >
                  <Radio.Group options={sourceOptions} optionType="button" data-testid="draw-source" />
                </Form.Item>
                <Form.Item
                  name="note"
                  label="发现情况"
                  rules={[{ required: true, whitespace: true, message: '请写明发现的情况' }]}
                >
                  <Input.TextArea
                    rows={3}
                    maxLength={2000}
                    showCount
                    placeholder="如：巡查发现村东新建厂房约 300 平方米，正在施工；或：群众举报某村占用耕地建房（举报登记号…）"
                    data-testid="draw-note"
                  />
                </Form.Item>
                <Form.Item
                  name="unitCode"
                  label="责任单位"
                  extra="不选时按镇街界线自动确定（占图斑面积最大的单位）。"
                >
                  <Select
                    allowClear
                    placeholder="自动确定"
                    options={units.map((u) => ({ value: u.code, label: u.name }))}
                  />
                </Form.Item>
                <Form.Item
                  name="jcbh"
                  label="编号"
                  extra="不填时由系统编号，如 XC20170001（巡查）、JB20170001（举报）。"
                >
                  <Input maxLength={64} placeholder="留空自动编号" data-testid="draw-jcbh" />
                </Form.Item>
              </Form>
            </>
          )
        )}
      </Modal>
    </>
  );
}

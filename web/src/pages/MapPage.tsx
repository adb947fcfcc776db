// The map workspace: the batch's patches as vector tiles coloured by workflow state, verdict or
// pre-judgement (legend with each state's explanation on hover), filters, search by 监测编号,
// reference layers on and off, a basemap from the configured templates (or none: offline),
// ellipsoidal measurement in 亩, and the URL holding batch, patch, view and filters (deep links).
import { startTransition, useEffect, useMemo, useRef, useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router-dom';
import {
  AutoComplete,
  Button,
  Card,
  Checkbox,
  Descriptions,
  Divider,
  Radio,
  Select,
  Space,
  Switch,
  Tooltip,
  Typography,
} from 'antd';
import 'ol/ol.css';
import OlMap from 'ol/Map';
import View from 'ol/View';
import VectorTileLayer from 'ol/layer/VectorTile';
import VectorLayer from 'ol/layer/Vector';
import VectorSource from 'ol/source/Vector';
import Draw from 'ol/interaction/Draw';
import ScaleLine from 'ol/control/ScaleLine';
import { fromLonLat, toLonLat, transformExtent } from 'ol/proj';
import { Fill, Stroke, Style, Circle as CircleStyle } from 'ol/style';
import type { LineString, Polygon } from 'ol/geom';
import type TileLayer from 'ol/layer/Tile';
import { fmtMu, get } from '../api.ts';
import { useSession } from '../session.tsx';
import type { WorkItem, WorkList } from '../types.ts';
import {
  basemapLayer,
  patchStyle,
  patchTileSource,
  propsOf,
  referenceLayer,
  LAYER_STYLES,
} from '../olmap.ts';
import { PREJUDGEMENT_COLORS, STATE_COLORS, VERDICT_COLORS, StateTag, useLabels } from '../ui.tsx';
import { formatArea, formatLength, geodesicArea, geodesicLength } from '../measure.ts';
import { DrawPatch } from './DrawPatch.tsx';

type ColorBy = 'state' | 'verdict' | 'prejudgement';
const FILTER_KEYS = ['unit', 'state', 'verdict', 'prejudgement', 'source', 'overdue'] as const;
type Filters = Partial<Record<(typeof FILTER_KEYS)[number], string>>;

const DEFAULT_CENTER: [number, number] = [117.82, 36.78];

function passes(p: Record<string, unknown>, f: Filters): boolean {
  const inList = (k: keyof Filters, v: unknown) => !f[k] || f[k]!.split(',').includes(String(v));
  return (
    inList('unit', p.unit_code) &&
    inList('state', p.state) &&
    inList('verdict', p.verdict) &&
    inList('prejudgement', p.prejudgement) &&
    inList('source', p.source) &&
    (!f.overdue || String(Boolean(p.overdue)) === f.overdue)
  );
}

function passesItem(i: WorkItem, f: Filters): boolean {
  return passes(
    {
      unit_code: i.unitCode ?? '',
      state: i.state,
      verdict: i.verdict,
      prejudgement: i.prejudgement ?? 'none',
      source: i.source,
      overdue: i.deadlineStatus === 'overdue',
    },
    f,
  );
}

export default function MapPage() {
  const s = useSession();
  const labels = useLabels();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const batch = params.get('batch') || s.batch;
  const colorBy = (params.get('color') as ColorBy) || 'state';
  const selected = params.get('patch') ? Number(params.get('patch')) : null;
  const refLayers = (params.get('layers') ?? 'unit').split(',').filter(Boolean);
  const basemapId = params.get('basemap') ?? s.config.basemaps.find((b) => !b.overlay)?.id ?? 'none';
  const filters: Filters = useMemo(() => {
    const f: Filters = {};
    for (const k of FILTER_KEYS) if (params.get(k)) f[k] = params.get(k)!;
    return f;
  }, [params]);

  const mapEl = useRef<HTMLDivElement>(null);
  const mapRef = useRef<OlMap | null>(null);
  const patchLayer = useRef<VectorTileLayer | null>(null);
  const styleState = useRef({ colorBy, filters, selected });
  styleState.current = { colorBy, filters, selected };
  const [items, setItems] = useState<WorkItem[]>([]);
  /** The reference layer types in force (null until known). */
  const [layerTypes, setLayerTypes] = useState<string[] | null>(null);
  const [measure, setMeasure] = useState<'none' | 'length' | 'area'>('none');
  const [measured, setMeasured] = useState<string | null>(null);
  const [ready, setReady] = useState(false);
  // The work list (legend counts, search, fitting) is asked for once the map has drawn (or after
  // 5 s): on PGlite its query would hold the first tiles back, and its re-render the first frame.
  const [listDue, setListDue] = useState(false);
  const listWanted = ready || listDue;
  const measureSource = useRef(new VectorSource());

  const update = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null || v === '') next.delete(k);
      else next.set(k, v);
    }
    if (!next.get('batch') && batch) next.set('batch', batch);
    setParams(next, { replace: true });
  };

  // The map itself, once.
  useEffect(() => {
    const view0 = params.get('view')?.split('/').map(Number);
    const map = new OlMap({
      target: mapEl.current!,
      controls: [new ScaleLine()],
      view: new View({
        center: fromLonLat(
          view0 && view0.length === 3 && view0.every(Number.isFinite)
            ? [view0[1]!, view0[2]!]
            : DEFAULT_CENTER,
        ),
        zoom: view0 && Number.isFinite(view0[0]) ? view0[0] : 11,
        maxZoom: 20,
      }),
    });
    mapRef.current = map;
    const measureLayer = new VectorLayer({
      source: measureSource.current,
      zIndex: 100,
      style: new Style({
        stroke: new Stroke({ color: '#ff4d4f', width: 2, lineDash: [6, 4] }),
        fill: new Fill({ color: 'rgba(255,77,79,0.12)' }),
        image: new CircleStyle({ radius: 4, fill: new Fill({ color: '#ff4d4f' }) }),
      }),
    });
    map.addLayer(measureLayer);
    map.on('moveend', () => {
      const v = map.getView();
      const [lon, lat] = toLonLat(v.getCenter()!);
      const view = `${(v.getZoom() ?? 11).toFixed(2)}/${lon!.toFixed(5)}/${lat!.toFixed(5)}`;
      const next = new URLSearchParams(window.location.search);
      next.set('view', view);
      window.history.replaceState(window.history.state, '', `${window.location.pathname}?${next}`);
    });
    map.once('rendercomplete', () => {
      // Marked at once; the page's re-render (and the work list it asks for) may yield to input.
      mapEl.current?.setAttribute('data-ready', '1');
      startTransition(() => setReady(true));
    });
    (window as unknown as { __weipianMap?: OlMap }).__weipianMap = map;
    return () => map.setTarget(undefined);
  }, []);

  // Basemap.
  useEffect(() => {
    const map = mapRef.current!;
    for (const l of map.getLayers().getArray().slice())
      if ((l as TileLayer).get('basemap')) map.removeLayer(l);
    const chosen = s.config.basemaps.filter((b) => b.id === basemapId || (b.overlay && basemapId !== 'none'));
    chosen.forEach((b, i) => {
      const l = basemapLayer(b);
      l.setZIndex(b.overlay ? 1 : 0 - i);
      map.addLayer(l);
    });
  }, [basemapId, s.config.basemaps]);

  // Reference layers in force.
  useEffect(() => {
    get<{ layers: { type: string }[] }>('/api/layers')
      .then((r) => setLayerTypes([...new Set(r.layers.map((l) => l.type))]))
      .catch(() => setLayerTypes([]));
  }, []);
  // Until they are known the layers named in the address are drawn (a type not in force has empty
  // tiles), so the first drawing does not wait for /api/layers; layers that stay are kept.
  useEffect(() => {
    const map = mapRef.current!;
    const wanted = refLayers.filter((t) =>
      layerTypes ? layerTypes.includes(t) : s.config.layerTypes.some((x) => x.id === t),
    );
    const have = new Set<string>();
    for (const l of map.getLayers().getArray().slice())
      if (l.get('reference') && !wanted.includes(l.get('reference'))) map.removeLayer(l);
      else if (l.get('reference')) have.add(l.get('reference'));
    for (const t of wanted) {
      if (have.has(t)) continue;
      const l = referenceLayer(t);
      l.setZIndex(t === 'unit' ? 9 : 5);
      map.addLayer(l);
    }
  }, [refLayers.join(','), layerTypes]);

  // Patches of the batch.
  useEffect(() => {
    if (!batch) return;
    const map = mapRef.current!;
    if (patchLayer.current) map.removeLayer(patchLayer.current);
    const layer = new VectorTileLayer({
      zIndex: 10,
      renderMode: 'hybrid',
      source: patchTileSource(batch),
      style: (f) => {
        const p = propsOf(f);
        const id = Number(f.getId() ?? p.id);
        const st = styleState.current;
        if (!passes(p, st.filters) && id !== st.selected) return undefined;
        const value = String(p[st.colorBy] ?? '');
        const palette =
          st.colorBy === 'state'
            ? STATE_COLORS
            : st.colorBy === 'verdict'
              ? VERDICT_COLORS
              : PREJUDGEMENT_COLORS;
        return patchStyle(
          palette[value] ?? '#999999',
          id === st.selected,
          Boolean(p.overdue),
          f.getGeometry()?.getType() === 'Point',
        );
      },
    });
    patchLayer.current = layer;
    map.addLayer(layer);
  }, [batch]);
  useEffect(() => {
    const t = window.setTimeout(() => setListDue(true), 5000);
    return () => window.clearTimeout(t);
  }, []);
  useEffect(() => {
    if (!batch || !listWanted) return;
    get<WorkList>(`/api/batches/${batch}/worklist`)
      .then((r) => setItems(r.items))
      .catch(() => setItems([]));
  }, [batch, listWanted]);

  useEffect(() => {
    patchLayer.current?.changed();
  }, [colorBy, filters, selected]);

  // Fit to the selected patch (deep link) or to the batch when no view was given.
  const fitted = useRef(false);
  useEffect(() => {
    if (fitted.current || items.length === 0) return;
    const map = mapRef.current!;
    const target = selected ? items.find((i) => i.id === selected) : null;
    if (target)
      map.getView().fit(transformExtent(target.bbox, 'EPSG:4326', 'EPSG:3857'), {
        maxZoom: 17,
        padding: [80, 80, 80, 80],
      });
    else if (!params.get('view')) {
      const e: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
      for (const i of items) {
        e[0] = Math.min(e[0], i.bbox[0]);
        e[1] = Math.min(e[1], i.bbox[1]);
        e[2] = Math.max(e[2], i.bbox[2]);
        e[3] = Math.max(e[3], i.bbox[3]);
      }
      map.getView().fit(transformExtent(e, 'EPSG:4326', 'EPSG:3857'), { padding: [40, 40, 40, 40] });
    }
    fitted.current = true;
  }, [items]);

  // Click: select a patch.
  useEffect(() => {
    const map = mapRef.current!;
    const onClick = (e: { pixel: number[] }) => {
      if (measure !== 'none' || map.get('drawing')) return;
      const hit = map.forEachFeatureAtPixel(e.pixel, (f) => f, {
        layerFilter: (l) => l === patchLayer.current,
      });
      const id = hit ? Number(hit.getId() ?? propsOf(hit).id) : null;
      update({ patch: id ? String(id) : null });
    };
    map.on('click', onClick as never);
    return () => map.un('click', onClick as never);
  });

  // Measurement (ellipsoidal).
  useEffect(() => {
    const map = mapRef.current!;
    if (measure === 'none') return;
    const draw = new Draw({
      source: measureSource.current,
      type: measure === 'length' ? 'LineString' : 'Polygon',
    });
    draw.on('drawstart', () => {
      measureSource.current.clear();
      setMeasured(null);
    });
    draw.on('drawend', (e) => {
      const g = e.feature.getGeometry()!;
      if (measure === 'length') {
        const coords = (g as LineString).getCoordinates().map((c) => toLonLat(c) as [number, number]);
        setMeasured(`长度 ${formatLength(geodesicLength(coords))}`);
      } else {
        const ring = (g as Polygon).getCoordinates()[0]!.map((c) => toLonLat(c) as [number, number]);
        const perimeter = geodesicLength([...ring]);
        setMeasured(`面积 ${formatArea(geodesicArea(ring))}；周长 ${formatLength(perimeter)}`);
      }
    });
    map.addInteraction(draw);
    return () => {
      map.removeInteraction(draw);
    };
  }, [measure]);

  const visible = useMemo(() => items.filter((i) => passesItem(i, filters)), [items, filters]);
  const sel = selected ? items.find((i) => i.id === selected) : undefined;
  const units = useMemo(() => {
    const m = new Map<string, string>();
    for (const i of items) if (i.unitCode) m.set(i.unitCode, i.unitName ?? i.unitCode);
    return [...m].map(([value, label]) => ({ value, label }));
  }, [items]);
  const [search, setSearch] = useState('');
  const options = useMemo(
    () =>
      search
        ? items
            .filter((i) => i.jcbh.includes(search.trim()))
            .slice(0, 20)
            .map((i) => ({ value: String(i.id), label: `${i.jcbh} ${i.unitName ?? ''}` }))
        : [],
    [items, search],
  );

  // A patch drawn here (DrawPatch): fresh tiles under a new URL — again after the tile index's
  // one-second freshness window — the list, and the new patch selected.
  const onPatchCreated = (id: number) => {
    const reload = () =>
      patchLayer.current?.getSource()?.setUrl(`/api/tiles/patches/${batch}/{z}/{x}/{y}.pbf?t=${Date.now()}`);
    reload();
    window.setTimeout(reload, 1500);
    get<WorkList>(`/api/batches/${batch}/worklist`)
      .then((r) => setItems(r.items))
      .catch(() => undefined);
    update({ patch: String(id) });
  };

  const goTo = (id: number) => {
    const it = items.find((i) => i.id === id);
    if (!it) return;
    mapRef.current!.getView().fit(transformExtent(it.bbox, 'EPSG:4326', 'EPSG:3857'), {
      maxZoom: 17,
      padding: [80, 80, 80, 80],
      duration: 300,
    });
    update({ patch: String(id) });
  };

  const legend =
    colorBy === 'state'
      ? s.config.states.map((x) => ({
          id: x.id,
          label: x.label,
          tip: x.explanation,
          color: STATE_COLORS[x.id]!,
        }))
      : colorBy === 'verdict'
        ? s.config.verdicts.map((x) => ({
            id: x.id,
            label: x.label,
            tip: '',
            color: VERDICT_COLORS[x.id] ?? '#999',
          }))
        : [...s.config.prejudgements, { id: 'none', label: '未分析' }].map((x) => ({
            id: x.id,
            label: x.label,
            tip: '',
            color: PREJUDGEMENT_COLORS[x.id] ?? '#999',
          }));
  const countBy = (id: string) =>
    visible.filter((i) =>
      colorBy === 'state'
        ? i.state === id
        : colorBy === 'verdict'
          ? i.verdict === id
          : (i.prejudgement ?? 'none') === id,
    ).length;

  const multi = (k: keyof Filters, placeholder: string, opts: { value: string; label: string }[]) => (
    <Select
      mode="multiple"
      allowClear
      size="small"
      maxTagCount="responsive"
      placeholder={placeholder}
      style={{ width: '100%' }}
      value={filters[k] ? filters[k]!.split(',') : []}
      options={opts}
      onChange={(v: string[]) => update({ [k]: v.join(',') || null })}
      data-testid={`filter-${k}`}
    />
  );

  return (
    <div style={{ display: 'flex', height: 'calc(100vh - 64px)' }}>
      <div
        style={{
          width: 320,
          overflowY: 'auto',
          padding: 12,
          borderRight: '1px solid #eee',
          background: '#fff',
        }}
      >
        <Space direction="vertical" style={{ width: '100%' }} size={8}>
          <Select
            value={batch || undefined}
            style={{ width: '100%' }}
            options={s.batches.map((b) => ({ value: b.slug, label: b.name }))}
            onChange={(v) => {
              s.setBatch(v);
              update({ batch: v, patch: null });
            }}
            aria-label="批次"
          />
          <AutoComplete
            style={{ width: '100%' }}
            options={options}
            onSearch={setSearch}
            onSelect={(v: string) => goTo(Number(v))}
            placeholder="按监测编号查找图斑"
            data-testid="map-search"
            notFoundContent={search ? '没有找到（只能查找您有权查看的图斑）' : null}
          />
          <Divider style={{ margin: '4px 0' }} titlePlacement="left" plain>
            着色
          </Divider>
          <Radio.Group
            size="small"
            value={colorBy}
            onChange={(e) => update({ color: e.target.value })}
            optionType="button"
            options={[
              { value: 'state', label: '流程状态' },
              { value: 'verdict', label: '判定' },
              { value: 'prejudgement', label: '预判' },
            ]}
          />
          <div data-testid="legend">
            {legend.map((l) => (
              <Tooltip key={l.id} title={l.tip || undefined} placement="right">
                <div
                  style={{
                    display: 'flex',
                    alignItems: 'center',
                    gap: 6,
                    padding: '2px 0',
                    cursor: 'default',
                  }}
                >
                  <span
                    style={{
                      width: 14,
                      height: 14,
                      background: l.color,
                      opacity: 0.8,
                      border: `2px solid ${l.color}`,
                      display: 'inline-block',
                    }}
                  />
                  <span style={{ flex: 1 }}>{l.label}</span>
                  <Typography.Text type="secondary">{countBy(l.id)}</Typography.Text>
                </div>
              </Tooltip>
            ))}
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              虚线边框＝已逾期；青色粗边＝当前选中
            </Typography.Text>
          </div>
          <Divider style={{ margin: '4px 0' }} titlePlacement="left" plain>
            筛选（{visible.length} / {items.length}）
          </Divider>
          {units.length > 1 && multi('unit', '责任单位', units)}
          {multi(
            'state',
            '流程状态',
            s.config.states.map((x) => ({ value: x.id, label: x.label })),
          )}
          {multi(
            'verdict',
            '判定',
            s.config.verdicts.map((x) => ({ value: x.id, label: x.label })),
          )}
          {multi(
            'prejudgement',
            '预判',
            [...s.config.prejudgements, { id: 'none', label: '未分析' }].map((x) => ({
              value: x.id,
              label: x.label,
            })),
          )}
          {multi(
            'source',
            '来源',
            s.config.sources.map((x) => ({ value: x.id, label: x.label })),
          )}
          <Space>
            <Switch
              size="small"
              checked={filters.overdue === 'true'}
              onChange={(v) => update({ overdue: v ? 'true' : null })}
            />
            只看逾期
          </Space>
          <Divider style={{ margin: '4px 0' }} titlePlacement="left" plain>
            参考图层
          </Divider>
          <Checkbox.Group
            value={refLayers}
            onChange={(v) => update({ layers: (v as string[]).join(',') || 'none' })}
            style={{ display: 'flex', flexDirection: 'column' }}
          >
            {s.config.layerTypes
              .filter((t) => layerTypes?.includes(t.id))
              .map((t) => (
                <Checkbox key={t.id} value={t.id}>
                  <span
                    style={{
                      display: 'inline-block',
                      width: 10,
                      height: 10,
                      marginRight: 6,
                      border: `2px solid ${LAYER_STYLES[t.id]?.stroke ?? '#555'}`,
                    }}
                  />
                  {t.label}
                  {t.id === 'land-use' && <Typography.Text type="secondary">（14 级起显示）</Typography.Text>}
                </Checkbox>
              ))}
          </Checkbox.Group>
          <Divider style={{ margin: '4px 0' }} titlePlacement="left" plain>
            底图
          </Divider>
          <Select
            size="small"
            style={{ width: '100%' }}
            value={basemapId}
            onChange={(v) => update({ basemap: v })}
            options={[
              { value: 'none', label: '无底图（离线）' },
              ...s.config.basemaps.filter((b) => !b.overlay).map((b) => ({ value: b.id, label: b.name })),
            ]}
          />
          {s.config.basemaps.length === 0 && (
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              未配置在线底图（WEIPIAN_BASEMAPS 或 WEIPIAN_TIANDITU_KEY），以镇街界线为底。
            </Typography.Text>
          )}
          <Divider style={{ margin: '4px 0' }} titlePlacement="left" plain>
            量算（椭球）
          </Divider>
          <Radio.Group
            size="small"
            optionType="button"
            value={measure}
            onChange={(e) => {
              setMeasure(e.target.value);
              measureSource.current.clear();
              setMeasured(null);
            }}
            options={[
              { value: 'none', label: '关闭' },
              { value: 'length', label: '测距离' },
              { value: 'area', label: '测面积' },
            ]}
          />
          {measured && (
            <Typography.Text strong data-testid="measure-result">
              {measured}
            </Typography.Text>
          )}
          <DrawPatch getMap={() => mapRef.current} batch={batch} items={items} onCreated={onPatchCreated} />
        </Space>
      </div>
      <div style={{ flex: 1, position: 'relative' }}>
        <div
          ref={mapEl}
          style={{ position: 'absolute', inset: 0, background: '#f2efe9' }}
          data-testid="map"
          data-ready={ready ? '1' : '0'}
        />
        {sel && (
          <Card
            size="small"
            style={{ position: 'absolute', top: 12, right: 12, width: 320, zIndex: 5 }}
            title={`图斑 ${sel.jcbh}`}
            extra={<a onClick={() => update({ patch: null })}>关闭</a>}
            data-testid="patch-card"
          >
            <Descriptions size="small" column={1}>
              <Descriptions.Item label="责任单位">{sel.unitName ?? '—'}</Descriptions.Item>
              <Descriptions.Item label="来源">{labels.source(sel.source)}</Descriptions.Item>
              <Descriptions.Item label="面积">{fmtMu(sel.areaM2)}</Descriptions.Item>
              <Descriptions.Item label="流程状态">
                <StateTag state={sel.state} />
              </Descriptions.Item>
              <Descriptions.Item label="判定">{labels.verdict(sel.verdict)}</Descriptions.Item>
              <Descriptions.Item label="预判">{labels.prejudgement(sel.prejudgement)}</Descriptions.Item>
              <Descriptions.Item label="截止日期">
                {sel.dueDate ?? '—'}
                {sel.deadlineStatus === 'overdue' ? `（逾期 ${sel.daysOverdue} 天）` : ''}
              </Descriptions.Item>
            </Descriptions>
            <Button
              type="primary"
              block
              style={{ marginTop: 8 }}
              onClick={() => navigate(`/patches/${sel.id}`)}
            >
              打开图斑页
            </Button>
          </Card>
        )}
      </div>
    </div>
  );
}

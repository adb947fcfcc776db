// The field dictionary: every field the system exchanges with the outside world — the core
// attributes of a delivered patch and the analysis/export columns — with its Chinese name, its
// Shapefile (DBF) column name and DBF width. The output ids are a fixed contract shared by the
// analysis engine, the exports and the web client; add fields, never rename them.

export type FieldType = 'string' | 'number' | 'integer' | 'date' | 'boolean';
export type FieldUnit = 'm2' | 'mu' | 'ratio' | 'none';
export type FieldGroup = 'delivered' | 'analysis' | 'judgement' | 'batch';

export interface FieldValue {
  id: string;
  label: string;
}

export interface FieldDef {
  id: string;
  /** Chinese name shown to users and written as the column caption in Excel. */
  name: string;
  /** DBF column name: ASCII, at most 10 bytes (the dBase limit), unique (case-insensitive). */
  alias: string;
  type: FieldType;
  unit: FieldUnit;
  /** DBF width in bytes (strings are counted in GBK bytes: one Chinese character = 2). */
  width: number;
  /** DBF decimals; 0 for non-numbers. */
  decimals: number;
  group: FieldGroup;
  description: string;
  /** Closed value list (stored ids with Chinese labels), when the field has one. */
  values?: readonly FieldValue[];
}

/** The ten core attributes of a delivered patch (ids follow the Ministry's usual pinyin initials). */
export const CORE_FIELD_IDS = [
  'jcbh',
  'xzqdm',
  'tblx',
  'jcmj',
  'gdmj',
  'qsx',
  'hsx',
  'zxdx',
  'zxdy',
  'bz',
] as const;
export type CoreFieldId = (typeof CORE_FIELD_IDS)[number];

/** Analysis/export columns every consumer may rely on (the fixed contract). */
export const OUTPUT_FIELD_IDS = [
  'jcbh',
  'unit_code',
  'unit_name',
  'area_m2',
  'agricultural_m2',
  'farmland_m2',
  'basic_farmland_m2',
  'zone_allowed_m2',
  'zone_conditional_m2',
  'zone_restricted_m2',
  'zone_forbidden_m2',
  'approved_m2',
  'approved_share',
  'approval_docs',
  'facility_m2',
  'temporary_m2',
  'licence_inside_m2',
  'licence_outside_m2',
  'licence_nos',
  'prejudgement',
  'prejudgement_reason',
] as const;
export type OutputFieldId = (typeof OUTPUT_FIELD_IDS)[number];

export const PATCH_SOURCES: readonly FieldValue[] = [
  { id: 'satellite', label: '卫片' },
  { id: 'routine_inspection', label: '例行督察' },
  { id: 'patrol', label: '巡查' },
  { id: 'report', label: '举报' },
];

export const PREJUDGEMENT_VALUES: readonly FieldValue[] = [
  { id: 'likely_legal', label: '疑似合法' },
  { id: 'likely_other', label: '疑似其他' },
  { id: 'likely_illegal', label: '疑似违法' },
  { id: 'needs_check', label: '需核实' },
];

// Branch labels come from the rule pack (mineral "other" is 伪变化); these are the generic ones.
export const VERDICT_VALUES: readonly FieldValue[] = [
  { id: 'undetermined', label: '未判定' },
  { id: 'legal', label: '合法' },
  { id: 'other', label: '其他' },
  { id: 'illegal', label: '违法' },
];

// m² with 2 decimals keeps the 0.01 m² sliver tolerance visible; width 18 holds any patch.
const AREA = { type: 'number', unit: 'm2', width: 18, decimals: 2 } as const;
const SHARE = { type: 'number', unit: 'ratio', width: 12, decimals: 6 } as const;
const DATE = { type: 'date', unit: 'none', width: 8, decimals: 0 } as const;

function str(width: number): { type: 'string'; unit: 'none'; width: number; decimals: 0 } {
  return { type: 'string', unit: 'none', width, decimals: 0 };
}

export const FIELDS: readonly FieldDef[] = [
  // The monitoring number, the batch and the source lead every export row. Then the delivered core
  // attributes: names vary by delivery; src/domain/mapping.ts maps them to these ids.
  {
    id: 'jcbh',
    name: '监测编号',
    alias: 'JCBH',
    ...str(50),
    group: 'delivered',
    description: '部下发的图斑唯一编号；自行发现图斑（巡查、举报）由系统按规则生成。',
  },
  {
    id: 'batch',
    name: '批次',
    alias: 'BATCH',
    ...str(64),
    group: 'batch',
    description: '图斑所属批次的标识。',
  },
  {
    id: 'source',
    name: '图斑来源',
    alias: 'SOURCE',
    ...str(20),
    group: 'batch',
    description: '图斑来源：卫片、例行督察、巡查、举报。',
    values: PATCH_SOURCES,
  },
  {
    id: 'xzqdm',
    name: '行政区代码',
    alias: 'XZQDM',
    ...str(12),
    group: 'delivered',
    description: '下发的行政区代码：6位县级代码，可带3位乡镇与3位村级代码。',
  },
  {
    id: 'tblx',
    name: '图斑类型',
    alias: 'TBLX',
    ...str(50),
    group: 'delivered',
    description: '下发的图斑类型，原样保存。',
  },
  {
    id: 'jcmj',
    name: '监测面积',
    alias: 'JCMJ',
    ...AREA,
    group: 'delivered',
    description:
      '下发的监测面积。下发单位以说明为准（通常为亩），导入时按指定单位换算为平方米保存和导出；统计一律用系统计算的 area_m2。',
  },
  {
    id: 'gdmj',
    name: '耕地面积',
    alias: 'GDMJ',
    ...AREA,
    group: 'delivered',
    description: '下发的耕地面积，导入时换算为平方米保存和导出；统计用系统叠加计算的 farmland_m2。',
  },
  {
    id: 'qsx',
    name: '前时相',
    alias: 'QSX',
    ...DATE,
    group: 'delivered',
    description: '前时相影像日期（可能只精确到月）。',
  },
  {
    id: 'hsx',
    name: '后时相',
    alias: 'HSX',
    ...DATE,
    group: 'delivered',
    description: '后时相影像日期（可能只精确到月）。',
  },
  {
    id: 'zxdx',
    name: '中心点X',
    alias: 'ZXDX',
    type: 'number',
    unit: 'none',
    width: 18,
    decimals: 6,
    group: 'delivered',
    description: '下发的中心点X坐标，原样保存（坐标系与轴向以下发数据为准，测绘习惯 X 为北向）。',
  },
  {
    id: 'zxdy',
    name: '中心点Y',
    alias: 'ZXDY',
    type: 'number',
    unit: 'none',
    width: 18,
    decimals: 6,
    group: 'delivered',
    description: '下发的中心点Y坐标，原样保存。',
  },
  {
    id: 'bz',
    name: '备注',
    alias: 'BZ',
    ...str(254),
    group: 'delivered',
    description: '下发的备注，原样保存。',
  },

  // Analysis output (one row per patch, areas are CGCS2000 ellipsoidal areas).
  {
    id: 'unit_code',
    name: '责任单位代码',
    alias: 'UNIT_CODE',
    ...str(12),
    group: 'analysis',
    description: '责任单位（镇、街道或周村经济开发区）代码；默认取占图斑面积最大者。',
  },
  {
    id: 'unit_name',
    name: '责任单位名称',
    alias: 'UNIT_NAME',
    ...str(60),
    group: 'analysis',
    description: '责任单位名称。',
  },
  {
    id: 'area_m2',
    name: '图斑面积',
    alias: 'AREA_M2',
    ...AREA,
    group: 'analysis',
    description: '图斑椭球面积（平方米）。',
  },
  {
    id: 'agricultural_m2',
    name: '农用地面积',
    alias: 'AGRI_M2',
    ...AREA,
    group: 'analysis',
    description: '与地类图斑叠加后属于农用地（按规则包 landClasses）的面积。',
  },
  {
    id: 'farmland_m2',
    name: '耕地面积',
    alias: 'FARM_M2',
    ...AREA,
    group: 'analysis',
    description: '与耕地（变更调查）叠加的面积。',
  },
  {
    id: 'basic_farmland_m2',
    name: '永久基本农田面积',
    alias: 'BFARM_M2',
    ...AREA,
    group: 'analysis',
    description: '与永久基本农田叠加的面积。',
  },
  {
    id: 'zone_allowed_m2',
    name: '允许建设区面积',
    alias: 'ZONE_AL_M2',
    ...AREA,
    group: 'analysis',
    description: '位于土地利用总体规划允许建设区的面积。',
  },
  {
    id: 'zone_conditional_m2',
    name: '有条件建设区面积',
    alias: 'ZONE_CO_M2',
    ...AREA,
    group: 'analysis',
    description: '位于有条件建设区的面积。',
  },
  {
    id: 'zone_restricted_m2',
    name: '限制建设区面积',
    alias: 'ZONE_RE_M2',
    ...AREA,
    group: 'analysis',
    description: '位于限制建设区的面积。',
  },
  {
    id: 'zone_forbidden_m2',
    name: '禁止建设区面积',
    alias: 'ZONE_FO_M2',
    ...AREA,
    group: 'analysis',
    description: '位于禁止建设区的面积。',
  },
  {
    id: 'approved_m2',
    name: '已批面积',
    alias: 'APPR_M2',
    ...AREA,
    group: 'analysis',
    description: '被批准范围（农转用/征收、供地、增减挂钩等）覆盖的面积（各批文并集）。',
  },
  {
    id: 'approved_share',
    name: '已批比例',
    alias: 'APPR_SHR',
    ...SHARE,
    group: 'analysis',
    description: 'approved_m2 ÷ area_m2，0–1。',
  },
  {
    id: 'approval_docs',
    name: '批准文号',
    alias: 'APPR_DOCS',
    ...str(254),
    group: 'analysis',
    description: '与图斑相交的批文文号，以“；”分隔，按相交面积从大到小。',
  },
  {
    id: 'facility_m2',
    name: '设施农用地面积',
    alias: 'FACIL_M2',
    ...AREA,
    group: 'analysis',
    description: '被设施农用地备案范围覆盖的面积。',
  },
  {
    id: 'temporary_m2',
    name: '临时用地面积',
    alias: 'TEMP_M2',
    ...AREA,
    group: 'analysis',
    description: '被有效期内临时用地批准范围覆盖的面积。',
  },
  {
    id: 'licence_inside_m2',
    name: '矿权范围内面积',
    alias: 'LIC_IN_M2',
    ...AREA,
    group: 'analysis',
    description: '（矿产）位于有效采矿权范围内（含边界容差）的面积。',
  },
  {
    id: 'licence_outside_m2',
    name: '矿权范围外面积',
    alias: 'LIC_OUT_M2',
    ...AREA,
    group: 'analysis',
    description: '（矿产）位于有效采矿权范围外（扣除边界容差）的面积。',
  },
  {
    id: 'licence_nos',
    name: '许可证号',
    alias: 'LIC_NOS',
    ...str(254),
    group: 'analysis',
    description: '（矿产）与图斑相交的采矿/探矿许可证号，以“；”分隔。',
  },
  {
    id: 'prejudgement',
    name: '预判结果',
    alias: 'PREJUDGE',
    ...str(20),
    group: 'analysis',
    description:
      '分析预判：疑似合法 / 疑似其他 / 疑似违法 / 需核实（阈值见规则包 prejudgement）。预判不是判定。',
    values: PREJUDGEMENT_VALUES,
  },
  {
    id: 'prejudgement_reason',
    name: '预判依据',
    alias: 'PREJ_RSN',
    ...str(254),
    group: 'analysis',
    description: '预判所依据的数值与阈值的中文说明。',
  },

  // Judgement columns of the upward export.
  {
    id: 'verdict',
    name: '合法性判定',
    alias: 'VERDICT',
    ...str(20),
    group: 'judgement',
    description: '判定大类：未判定 / 合法 / 其他（矿产为伪变化）/ 违法。',
    values: VERDICT_VALUES,
  },
  {
    id: 'verdict_subtype',
    name: '判定细类',
    alias: 'VERD_SUB',
    ...str(64),
    group: 'judgement',
    description: '判定细类 id，取值见判定所依据的规则包 verdicts.*.subtypes。',
  },
  {
    id: 'workflow_state',
    name: '流程状态',
    alias: 'WF_STATE',
    ...str(30),
    group: 'judgement',
    description: '填报流程状态（已下发、核查中、已填报、初审通过、退回、已上报……），取值由流程模块定义。',
  },
];

/** Every column of a patch export, in export order: identity, delivered, analysis, judgement. */
export const EXPORT_FIELD_IDS: readonly string[] = FIELDS.map((f) => f.id);

const byId = new Map(FIELDS.map((f) => [f.id, f]));

/** The definition of a field id, or undefined. */
export function fieldDef(id: string): FieldDef | undefined {
  return byId.get(id);
}

/** The definition of a field id that must exist (programming error otherwise). */
export function requireField(id: string): FieldDef {
  const f = byId.get(id);
  if (!f) throw new Error(`unknown field id: ${id}`);
  return f;
}

/**
 * Analysis areas in m² — the per-patch metrics rule-pack conditions may compare. Delivered areas
 * (jcmj, gdmj) are excluded: they are the Ministry's figures, kept for reference only.
 */
export function areaFieldIds(): string[] {
  return FIELDS.filter((f) => f.group === 'analysis' && f.type === 'number' && f.unit === 'm2').map(
    (f) => f.id,
  );
}

import geographiclib from 'geographiclib-geodesic';
import proj4 from 'proj4';
const geod = geographiclib.Geodesic.Geodesic;
console.log(typeof geod, typeof proj4);

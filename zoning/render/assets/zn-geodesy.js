/* Geodesic distance and area on the CGCS2000 / GRS80 ellipsoid (a = 6378137 m, f = 1/298.257222101).
   Distances: Vincenty's inverse formula (sub-millimetre on this ellipsoid for all but nearly antipodal
   points, where it falls back to a great-circle distance on the authalic sphere).
   Areas: spherical excess on the authalic sphere, with authalic latitudes: the ellipsoid-to-sphere
   mapping preserves area, so a polygon of a few km agrees with the ellipsoidal geodesic area to ~1e-7. */
(function () {
  "use strict";
  var Z = window.ZoningMap = window.ZoningMap || {};
  if (Z.geodesy) return;
  var A = 6378137, F = 1 / 298.257222101, B = A * (1 - F), E2 = F * (2 - F), E = Math.sqrt(E2);
  var RAD = Math.PI / 180;

  function q(sinPhi) {
    var es = E * sinPhi;
    return (1 - E2) * (sinPhi / (1 - es * es) - (1 / (2 * E)) * Math.log((1 - es) / (1 + es)));
  }
  var QP = q(1), RQ = A * Math.sqrt(QP / 2);
  function authalic(latDeg) {
    var s = q(Math.sin(latDeg * RAD)) / QP;
    return Math.asin(Math.max(-1, Math.min(1, s)));
  }
  function wrap(x) {  // to (-pi, pi]
    while (x > Math.PI) x -= 2 * Math.PI;
    while (x <= -Math.PI) x += 2 * Math.PI;
    return x;
  }

  function sphereDistance(lat1, lon1, lat2, lon2) {
    var b1 = authalic(lat1), b2 = authalic(lat2), dl = (lon2 - lon1) * RAD;
    var h = Math.pow(Math.sin((b2 - b1) / 2), 2) + Math.cos(b1) * Math.cos(b2) * Math.pow(Math.sin(dl / 2), 2);
    return 2 * RQ * Math.asin(Math.min(1, Math.sqrt(h)));
  }

  /** Geodesic distance (m) between two points given in degrees. */
  function distance(lat1, lon1, lat2, lon2) {
    var L = wrap((lon2 - lon1) * RAD);
    var U1 = Math.atan((1 - F) * Math.tan(lat1 * RAD)), U2 = Math.atan((1 - F) * Math.tan(lat2 * RAD));
    var sinU1 = Math.sin(U1), cosU1 = Math.cos(U1), sinU2 = Math.sin(U2), cosU2 = Math.cos(U2);
    var lambda = L, lambdaP, iter = 0;
    var sinSigma, cosSigma, sigma, cosSqAlpha, cos2SigmaM;
    do {
      var sinL = Math.sin(lambda), cosL = Math.cos(lambda);
      var t1 = cosU2 * sinL, t2 = cosU1 * sinU2 - sinU1 * cosU2 * cosL;
      sinSigma = Math.sqrt(t1 * t1 + t2 * t2);
      if (sinSigma === 0) return 0;  // coincident points
      cosSigma = sinU1 * sinU2 + cosU1 * cosU2 * cosL;
      sigma = Math.atan2(sinSigma, cosSigma);
      var sinAlpha = cosU1 * cosU2 * sinL / sinSigma;
      cosSqAlpha = 1 - sinAlpha * sinAlpha;
      cos2SigmaM = cosSqAlpha !== 0 ? cosSigma - 2 * sinU1 * sinU2 / cosSqAlpha : 0;
      var C = F / 16 * cosSqAlpha * (4 + F * (4 - 3 * cosSqAlpha));
      lambdaP = lambda;
      lambda = L + (1 - C) * F * sinAlpha *
        (sigma + C * sinSigma * (cos2SigmaM + C * cosSigma * (-1 + 2 * cos2SigmaM * cos2SigmaM)));
    } while (Math.abs(lambda - lambdaP) > 1e-12 && ++iter < 200);
    if (iter >= 200) return sphereDistance(lat1, lon1, lat2, lon2);
    var uSq = cosSqAlpha * (A * A - B * B) / (B * B);
    var bigA = 1 + uSq / 16384 * (4096 + uSq * (-768 + uSq * (320 - 175 * uSq)));
    var bigB = uSq / 1024 * (256 + uSq * (-128 + uSq * (74 - 47 * uSq)));
    var dSigma = bigB * sinSigma * (cos2SigmaM + bigB / 4 * (cosSigma * (-1 + 2 * cos2SigmaM * cos2SigmaM) -
      bigB / 6 * cos2SigmaM * (-3 + 4 * sinSigma * sinSigma) * (-3 + 4 * cos2SigmaM * cos2SigmaM)));
    return B * bigA * (sigma - dSigma);
  }

  /** Length (m) of a path of Leaflet LatLngs. */
  function pathLength(lls) {
    var s = 0;
    for (var i = 1; i < lls.length; i++) s += distance(lls[i - 1].lat, lls[i - 1].lng, lls[i].lat, lls[i].lng);
    return s;
  }

  /** Area (m², unsigned) of the polygon closed by a ring of Leaflet LatLngs. */
  function polygonArea(lls) {
    var n = lls.length, sum = 0;
    if (n < 3) return 0;
    for (var i = 0; i < n; i++) {
      var p1 = lls[i], p2 = lls[(i + 1) % n];
      var t1 = Math.tan(authalic(p1.lat) / 2), t2 = Math.tan(authalic(p2.lat) / 2);
      var dl = wrap((p2.lng - p1.lng) * RAD);
      sum += 2 * Math.atan2(Math.tan(dl / 2) * (t1 + t2), 1 + t1 * t2);
    }
    return Math.abs(sum) * RQ * RQ;
  }

  var MU = 10000 / 15;  // 1 亩 = 666.6667 m²
  function fmtLength(m) {
    return m >= 1000 ? Z.fmt(m / 1000, 3) + " km" : Z.fmt(m, 1) + " m";
  }
  function fmtArea(m2) {
    return Z.fmt(m2, 0) + " m² = " + Z.fmt(m2 / 1e4, 4) + " ha = " + Z.fmt(m2 / MU, 2) + " 亩";
  }
  Z.geodesy = {a: A, f: F, distance: distance, pathLength: pathLength, polygonArea: polygonArea,
               fmtLength: fmtLength, fmtArea: fmtArea, MU_M2: MU};
})();

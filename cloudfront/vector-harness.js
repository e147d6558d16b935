// Test support shared by node --test and njs (ES 5.1, no modules): turns a parity vector
// (tests/fixtures/vectors.json) into a real CloudFront Functions viewer-request event and
// checks what the function's handler() returns. Lives outside cloudfront/test/ because
// node --test would run any .js file under a test/ folder as a test file.

var HARNESS_KNOWN = ['w', 'h', 'q', 'fit', 'format', 'info'];

function harnessPieces(query) {
  var out = [];
  var pieces = query ? query.split('&') : [];
  for (var i = 0; i < pieces.length; i++) {
    if (!pieces[i]) continue;
    var eq = pieces[i].indexOf('=');
    out.push(eq < 0 ? [pieces[i], ''] : [pieces[i].substring(0, eq), pieces[i].substring(eq + 1)]);
  }
  return out;
}

// The event CloudFront builds: querystring values as received (still percent-encoded),
// repeated names collapsed into value + multiValue, lower-case header names.
// withRawQuery adds request.rawQueryString() (runtime 2.0); without it the function must
// rebuild the query from the querystring object, as in the console test tool.
function vectorEvent(v, withRawQuery) {
  var qs = {};
  var pieces = harnessPieces(v.query);
  for (var i = 0; i < pieces.length; i++) {
    var name = pieces[i][0], value = pieces[i][1];
    if (Object.prototype.hasOwnProperty.call(qs, name)) {
      if (!qs[name].multiValue) qs[name].multiValue = [{ value: qs[name].value }];
      qs[name].multiValue.push({ value: value });
    } else {
      qs[name] = { value: value };
    }
  }
  var headers = {
    host: { value: 'd111111abcdef8.cloudfront.net' },
    'user-agent': { value: 'image-origin parity vectors' }
  };
  if (v.accept !== null) headers.accept = { value: v.accept };
  var request = { method: 'GET', uri: v.path, querystring: qs, headers: headers, cookies: {} };
  if (withRawQuery) {
    request.rawQueryString = function () { return v.query === null ? undefined : v.query; };
  }
  return {
    version: '1.0',
    context: {
      distributionDomainName: 'd111111abcdef8.cloudfront.net',
      distributionId: 'EDFDVBD6EXAMPLE',
      eventType: 'viewer-request',
      requestId: 'parity-vector'
    },
    viewer: { ip: '198.51.100.11' },
    request: request
  };
}

// The querystring object loses the order between different names; the rebuilt query is
// only equivalent when the known parameters already appear grouped by name.
function fallbackApplies(v) {
  var raw = [], seen = [], counts = {};
  var pieces = harnessPieces(v.query);
  for (var i = 0; i < pieces.length; i++) {
    var name = pieces[i][0];
    if (HARNESS_KNOWN.indexOf(name) < 0) continue;
    raw.push(name);
    if (seen.indexOf(name) < 0) { seen.push(name); counts[name] = 0; }
    counts[name] += 1;
  }
  var grouped = [];
  for (var j = 0; j < seen.length; j++) {
    for (var k = 0; k < counts[seen[j]]; k++) grouped.push(seen[j]);
  }
  return raw.join(',') === grouped.join(',');
}

// null when handler(event) answers what the vector expects, else a description.
function checkVector(handler, v, withRawQuery) {
  var event = vectorEvent(v, withRawQuery);
  var result = handler(event);
  if (v.expect.uri !== undefined) {
    if (result.statusCode !== undefined) {
      return 'expected ' + v.expect.uri + ', got ' + result.statusCode + ' ' + JSON.stringify(result.body);
    }
    if (result.uri !== v.expect.uri) return 'expected ' + v.expect.uri + ', got ' + result.uri;
    if (typeof result.querystring !== 'object' || Object.keys(result.querystring).length !== 0) {
      return 'querystring not emptied: ' + JSON.stringify(result.querystring);
    }
    if (result.method !== 'GET' || result.headers !== event.request.headers) return 'request not passed on';
    return null;
  }
  if (result.statusCode !== v.expect.status) {
    return 'expected ' + v.expect.status + ' "' + v.expect.message + '", got ' + (result.statusCode || result.uri);
  }
  if (!result.body || result.body.encoding !== 'text' || result.body.data !== v.expect.message) {
    return 'expected body "' + v.expect.message + '", got ' + JSON.stringify(result.body);
  }
  if (result.statusDescription !== 'Bad Request') return 'statusDescription ' + result.statusDescription;
  var type = result.headers && result.headers['content-type'];
  if (!type || type.value !== 'text/plain; charset=utf-8') return 'content-type ' + JSON.stringify(type);
  return null;
}

// Every vector with rawQueryString(), and again without it where that is equivalent.
function runVectors(handler, vectors) {
  var summary = { vectors: vectors.length, checks: 0, failed: 0, failures: [] };
  for (var i = 0; i < vectors.length; i++) {
    var modes = fallbackApplies(vectors[i]) ? [true, false] : [true];
    for (var m = 0; m < modes.length; m++) {
      var problem;
      try {
        problem = checkVector(handler, vectors[i], modes[m]);
      } catch (e) {
        problem = 'threw ' + e;
      }
      summary.checks += 1;
      if (problem !== null) {
        summary.failed += 1;
        summary.failures.push(vectors[i].name + (modes[m] ? '' : ' [querystring object]') + ': ' + problem);
      }
    }
  }
  return summary;
}

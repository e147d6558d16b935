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

// The KeyValueStore the function reads signing keys from (cf.kvs()): a vector group's
// "kvs" contents; get() rejects a missing key, as CloudFront's does.
function harnessKvs(contents) {
  return {
    get: function (name) {
      if (contents && Object.prototype.hasOwnProperty.call(contents, name)) return Promise.resolve(contents[name]);
      return Promise.reject(new Error('KeyNotFound: ' + name));
    }
  };
}

// null when the handler's answer is what the vector expects, else a description.
function judgeVector(v, event, result) {
  if (v.expect.uri !== undefined) {
    if (result.statusCode !== undefined) {
      return 'expected ' + v.expect.uri + ', got ' + result.statusCode + ' ' + JSON.stringify(result.body);
    }
    if (result.uri !== v.expect.uri) return 'expected ' + v.expect.uri + ', got ' + result.uri;
    var forwarded = v.expect.signature === undefined ? {} : { s: { value: v.expect.signature } };
    if (JSON.stringify(result.querystring) !== JSON.stringify(forwarded)) {
      return 'querystring ' + JSON.stringify(result.querystring) + ', expected ' + JSON.stringify(forwarded);
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
  var description = v.expect.status === 403 ? 'Forbidden' : 'Bad Request';
  if (result.statusDescription !== description) return 'statusDescription ' + result.statusDescription;
  var type = result.headers && result.headers['content-type'];
  if (!type || type.value !== 'text/plain; charset=utf-8') return 'content-type ' + JSON.stringify(type);
  return null;
}

// A promise of null or a description (the handler is async: it may read the store).
function checkVector(handler, v, withRawQuery) {
  var event = vectorEvent(v, withRawQuery);
  return Promise.resolve(handler(event)).then(function (result) { return judgeVector(v, event, result); });
}

// Every vector with rawQueryString(), and again without it where that is equivalent; a
// promise of the summary. All checks start at once: a chain of thousands of promises, each
// resolving with the next, would nest as deep as the vector list.
function runVectors(handler, vectors) {
  var jobs = [];
  for (var i = 0; i < vectors.length; i++) {
    jobs.push([vectors[i], true]);
    if (fallbackApplies(vectors[i])) jobs.push([vectors[i], false]);
  }
  var checks = jobs.map(function (job) {
    var pending;
    try {
      pending = checkVector(handler, job[0], job[1]);
    } catch (e) {
      pending = Promise.reject(e);
    }
    return pending.then(null, function (e) { return 'threw ' + e; });
  });
  return Promise.all(checks).then(function (problems) {
    var summary = { vectors: vectors.length, checks: jobs.length, failed: 0, failures: [] };
    for (var k = 0; k < problems.length; k++) {
      if (problems[k] === null) continue;
      summary.failed += 1;
      summary.failures.push(jobs[k][0].name + (jobs[k][1] ? '' : ' [querystring object]') + ': ' + problems[k]);
    }
    return summary;
  });
}

/**
 * A small offline query page served on GET /graphql in a browser. The real GraphiQL bundle
 * comes from a CDN or a ~5 MB package; this page needs neither and works without a network:
 * paste a token from `iotctl token`, write a query, mutation or subscription, run it.
 */
export function graphiqlPage(endpoint: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>IoT platform GraphQL (local)</title>
<style>
 body{font:14px system-ui,sans-serif;margin:0;display:grid;grid-template-rows:auto 1fr;height:100vh}
 header{padding:8px 12px;background:#232f3e;color:#fff;display:flex;gap:8px;align-items:center}
 header input{flex:1;font:12px monospace}
 main{display:grid;grid-template-columns:1fr 1fr;gap:8px;padding:8px;min-height:0}
 textarea,pre{font:13px monospace;width:100%;box-sizing:border-box;margin:0;border:1px solid #ccc;padding:6px}
 .left{display:grid;grid-template-rows:3fr 1fr;gap:8px;min-height:0}
 pre{overflow:auto;background:#f7f7f7}
</style></head><body>
<header><b>GraphQL</b><span>${endpoint}</span>
<input id="token" placeholder="Authorization: paste the output of  npx iotctl token --user me --group admin">
<button id="run">Run (Ctrl+Enter)</button><button id="stop" disabled>Stop</button></header>
<main><div class="left">
<textarea id="query" spellcheck="false">query Devices {
  devices(limit: 10) { items { id name type status version lastSeen } nextToken total }
  stats { total online byStatus { status count } }
}</textarea>
<textarea id="variables" spellcheck="false" placeholder="variables (JSON)">{}</textarea></div>
<pre id="result">Queries and mutations go over HTTP; a subscription opens a graphql-ws socket on the same path.</pre></main>
<script>
const $=(id)=>document.getElementById(id);
$('token').value=localStorage.getItem('iot-token')||'';
let socket;
function stop(){if(socket){socket.close();socket=undefined}$('stop').disabled=true}
function subscribe(query,variables){
  stop();
  const out=$('result');out.textContent='subscribing...\\n';
  socket=new WebSocket(location.href.replace(/^http/,'ws').split('?')[0],'graphql-transport-ws');
  socket.onopen=()=>socket.send(JSON.stringify({type:'connection_init',payload:{Authorization:$('token').value.trim()}}));
  socket.onmessage=(e)=>{const m=JSON.parse(e.data);
    if(m.type==='connection_ack'){socket.send(JSON.stringify({id:'1',type:'subscribe',payload:{query,variables}}));out.textContent+='live: make a change to see it here\\n'}
    else if(m.type==='next'||m.type==='error'){out.textContent+=JSON.stringify(m.payload,null,2)+'\\n'}
    else if(m.type==='complete'){out.textContent+='complete\\n'}};
  socket.onclose=(e)=>{out.textContent+='closed '+e.code+' '+e.reason+'\\n';$('stop').disabled=true};
  $('stop').disabled=false;
}
async function run(){
  localStorage.setItem('iot-token',$('token').value);
  let variables={};
  try{variables=JSON.parse($('variables').value||'{}')}catch(e){$('result').textContent='variables: '+e.message;return}
  if(/^\\s*subscription\\b/.test($('query').value))return subscribe($('query').value,variables);
  const res=await fetch(location.pathname,{method:'POST',headers:{'content-type':'application/json',authorization:$('token').value.trim()},body:JSON.stringify({query:$('query').value,variables})});
  $('result').textContent=res.status+' '+res.statusText+'\\n'+JSON.stringify(await res.json(),null,2);
}
$('run').onclick=run;
$('stop').onclick=stop;
document.addEventListener('keydown',(e)=>{if(e.ctrlKey&&e.key==='Enter')run()});
</script></body></html>`;
}

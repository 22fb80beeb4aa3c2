// Preload (node --import): appends the URL of every module the process resolves to the file named
// by MSVC_IMPORTS_OUT, so that a test can tell which packages a command loads.
import { register } from 'node:module'

register('./record-imports-hooks.mjs', import.meta.url, { data: { out: process.env.MSVC_IMPORTS_OUT } })

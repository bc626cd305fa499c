// A script k6 cannot compile: the options object is never closed.
export const options = {
  stages: [{ duration: '1s', target: 1 }],

export default function () {}

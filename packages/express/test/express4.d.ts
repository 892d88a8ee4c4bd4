// Express 4 is installed under an alias so both majors can be tested; it has the same
// call surface the tests use as Express 5's types describe.
declare module "express4" {
  import express from "express";
  export default express;
}

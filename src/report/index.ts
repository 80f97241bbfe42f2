// Door of the report room: charts shared by the bench and eval reports.
export { svgChart, type ChartOptions, type Series } from './svg-chart.js';
